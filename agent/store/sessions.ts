/**
 * Browser sessions of the web console. The cookie carries a random id; the table keeps only
 * its SHA-256. Sessions are not audited: they change no rule, and sign-ins are logged elsewhere.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { UserStore } from './users';
import type { UserRow } from './users';

/**
 * A session left alone this long ends: a console forgotten in an open tab at the end of a
 * working day is signed out by the next morning.
 */
export const SESSION_IDLE_MS = 8 * 60 * 60 * 1000;
/**
 * However active, a session ends this long after sign-in: a stolen cookie, or a user whose
 * access should end, does not live on for ever by being used.
 */
export const SESSION_ABSOLUTE_MS = 7 * 24 * 60 * 60 * 1000;
/** A touch writes only when it moves the expiry by at least this much (not on every request). */
const TOUCH_RESOLUTION_MS = 60_000;

export interface SessionRow {
  readonly userId: number;
  /** Secret the console derives or checks its CSRF tokens from; stays with the session. */
  readonly csrfSecret: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
}

/** What `create` hands back: the id goes into the cookie and is kept nowhere else. */
export interface NewSession {
  readonly id: string;
  readonly csrfSecret: string;
  readonly expiresAt: number;
}

/** 32 random bytes in base64url (43 characters). */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** The id is 256 random bits: a fast hash is enough (nothing to guess), and finds the row by index. */
function idHash(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** The hash a presented session id is looked up by; undefined when it is not shaped like one. */
export function presentedSessionHash(id: string): string | undefined {
  return SESSION_ID.test(id) ? idHash(id) : undefined;
}

/** A new session starting `now`, idle expiry `ttlMs` (capped by SESSION_ABSOLUTE_MS), and the hash its id is kept as. */
export function newSession(now: number, ttlMs: number): { session: NewSession; idHash: string } {
  const id = randomBytes(32).toString('base64url');
  const csrfSecret = randomBytes(32).toString('base64url');
  const expiresAt = now + Math.min(Math.max(0, ttlMs), SESSION_ABSOLUTE_MS);
  return { session: { id, csrfSecret, expiresAt }, idHash: idHash(id) };
}

/**
 * Sliding expiry: a live session used `now` expires `ttlMs` later, but never later than
 * SESSION_ABSOLUTE_MS after it began; `write` is false when that moves it too little to store.
 */
export function touchedExpiry(session: SessionRow, now: number, ttlMs: number): { expiresAt: number; write: boolean } {
  const expiresAt = Math.min(now + Math.max(0, ttlMs), session.createdAt + SESSION_ABSOLUTE_MS);
  if (Math.abs(expiresAt - session.expiresAt) < TOUCH_RESOLUTION_MS) return { expiresAt: session.expiresAt, write: false };
  return { expiresAt, write: true };
}

const SESSION_COLUMNS = 'user_id AS userId, csrf_secret AS csrfSecret, created_at AS createdAt, last_seen_at AS lastSeenAt, expires_at AS expiresAt';

export class SessionStore {
  constructor(
    private readonly db: Database,
    /** Milliseconds since the epoch; tests pass their own. */
    private readonly clock: () => number = Date.now,
  ) {}

  /** Starts a session for an existing user (by id), idle expiry `ttlMs` (capped by SESSION_ABSOLUTE_MS). */
  create(userId: number, ttlMs: number = SESSION_IDLE_MS): NewSession {
    const now = this.clock();
    const made = newSession(now, ttlMs);
    this.db
      .prepare('INSERT INTO sessions (id_hash, user_id, csrf_secret, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(made.idHash, userId, made.session.csrfSecret, now, now, made.session.expiresAt);
    return made.session;
  }

  /** The live session and its user (as they are now: role and tenants read afresh), or undefined. */
  find(id: string): { session: SessionRow; user: UserRow } | undefined {
    const hash = presentedSessionHash(id);
    if (hash === undefined) return undefined;
    const session = this.db.prepare(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id_hash = ? AND expires_at > ?`).get(hash, this.clock()) as
      | SessionRow
      | undefined;
    if (!session) return undefined;
    const user = new UserStore(this.db).byId(session.userId);
    return user && { session, user };
  }

  /**
   * Sliding expiry: a live session used now expires `ttlMs` from now, but never later than
   * SESSION_ABSOLUTE_MS after it began. Returns the new expiry, or undefined when the session
   * is gone or over.
   */
  touch(id: string, ttlMs: number = SESSION_IDLE_MS): number | undefined {
    const found = this.find(id);
    if (!found) return undefined;
    const now = this.clock();
    const touched = touchedExpiry(found.session, now, ttlMs);
    if (touched.write) this.db.prepare('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?').run(now, touched.expiresAt, idHash(id));
    return touched.expiresAt;
  }

  /** Ends one session (sign-out); true if it existed. */
  destroy(id: string): boolean {
    const hash = presentedSessionHash(id);
    if (hash === undefined) return false;
    return this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(hash).changes > 0;
  }

  /** Ends every session of a user; returns how many. */
  destroyForUser(userId: number): number {
    return this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(userId).changes;
  }

  /** Deletes sessions past their expiry (they are already refused); returns how many. */
  purgeExpired(): number {
    return this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(this.clock()).changes;
  }
}
