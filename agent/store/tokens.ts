/**
 * Machine tokens for the REST API (`Authorization: Bearer cg_…`): a name, a role and tenants
 * like a user's, and the token itself kept only as its SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { BadInput } from '../engine/bad-input';
import { AuditTrail } from './audit';
import { checkAccountName, checkGrants, checkRole } from './users';
import type { Role } from './users';

/** A token as listings show it: never the token or its hash. */
export interface TokenRow {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  /** null for an admin token (every tenant). */
  readonly tenants: readonly string[] | null;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
}

/** `cg_` and 32 random bytes in base64url (43 characters). */
const TOKEN = /^cg_[A-Za-z0-9_-]{43}$/;

/** `last_used_at` moves at most this often, so a busy client does not write on every request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * A token is 256 random bits, so nobody can guess one from its hash and a fast hash is the
 * right tool: a slow, salted one (scrypt) protects low-entropy passwords, and would only cost
 * time on every API request here. Unsalted, so a presented token is found by its hash.
 */
function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new token and the hash it is kept as: the token itself is shown once and kept nowhere. */
export function newToken(): { token: string; hash: string } {
  const token = `cg_${randomBytes(32).toString('base64url')}`;
  return { token, hash: tokenHash(token) };
}

/** The hash a presented bearer string is looked up by; undefined when it is not shaped like a token. */
export function presentedTokenHash(presented: string): string | undefined {
  return TOKEN.test(presented) ? tokenHash(presented) : undefined;
}

/** Whether a use now is to be noted (at most once a LAST_USED_RESOLUTION_MS). */
export function lastUseDue(lastUsedAt: number | null, now: number): boolean {
  return lastUsedAt === null || now - lastUsedAt >= LAST_USED_RESOLUTION_MS;
}

interface RawToken {
  id: number;
  name: string;
  role: Role;
  createdAt: number;
  lastUsedAt: number | null;
}

const TOKEN_COLUMNS = 'id, name, role, created_at AS createdAt, last_used_at AS lastUsedAt';

const audited = (token: TokenRow) => ({ name: token.name, role: token.role, tenants: token.tenants });

/** Machine tokens. Adding and removing are one transaction each with their audit row. */
export class TokenStore {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Database,
    actor = 'system',
    /** Milliseconds since the epoch; tests pass their own. */
    private readonly clock: () => number = Date.now,
  ) {
    this.audit = new AuditTrail(db, actor);
  }

  /** Adds a token; the returned `token` exists nowhere else: show it once. */
  add(name: string, role: string, tenants: readonly string[]): { token: string; row: TokenRow } {
    const { token, hash } = newToken();
    const row = this.db.transaction(() => {
      const lower = checkAccountName(name, 'token');
      const checkedRole = checkRole(role);
      const grants = checkGrants(this.db, checkedRole, tenants);
      if (this.raw(lower)) throw new BadInput(`token "${lower}" already exists`);
      const id = Number(
        this.db
          .prepare('INSERT INTO tokens (name, role, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id')
          .pluck()
          .get(lower, checkedRole, hash, this.clock()),
      );
      const insert = this.db.prepare('INSERT INTO token_tenants (token_id, tenant) VALUES (?, ?)');
      for (const tenant of grants) insert.run(id, tenant);
      const added = this.complete(this.raw(lower)!);
      this.audit.record('add', 'token', added.name, null, audited(added));
      return added;
    }).immediate();
    return { token, row };
  }

  list(): TokenRow[] {
    const rows = this.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens ORDER BY name`).all() as RawToken[];
    return rows.map((raw) => this.complete(raw));
  }

  remove(name: string): void {
    this.db.transaction(() => {
      const raw = this.raw(name.toLowerCase());
      if (!raw) throw new BadInput(`unknown token "${name}"`);
      const token = this.complete(raw);
      this.db.prepare('DELETE FROM token_tenants WHERE token_id = ?').run(token.id);
      this.db.prepare('DELETE FROM tokens WHERE id = ?').run(token.id);
      this.audit.record('remove', 'token', token.name, audited(token), null);
    }).immediate();
  }

  /**
   * The token a presented bearer string belongs to, or undefined. Found by its hash: the
   * index lookup's timing tells an attacker nothing, as they cannot choose hashes. Notes the
   * use (at most once a minute).
   */
  verify(presented: string): TokenRow | undefined {
    const hash = presentedTokenHash(presented);
    if (hash === undefined) return undefined;
    const raw = this.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE token_hash = ?`).get(hash) as RawToken | undefined;
    if (!raw) return undefined;
    const now = this.clock();
    if (lastUseDue(raw.lastUsedAt, now)) {
      this.db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?').run(now, raw.id);
      raw.lastUsedAt = now;
    }
    return this.complete(raw);
  }

  private raw(lowerName: string): RawToken | undefined {
    return this.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE name = ?`).get(lowerName) as RawToken | undefined;
  }

  private complete(raw: RawToken): TokenRow {
    const tenants = raw.role === 'admin' ? null : (this.db.prepare('SELECT tenant FROM token_tenants WHERE token_id = ? ORDER BY tenant').pluck().all(raw.id) as string[]);
    return { id: raw.id, name: raw.name, role: raw.role, tenants, createdAt: raw.createdAt, lastUsedAt: raw.lastUsedAt };
  }
}
