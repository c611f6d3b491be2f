/**
 * People who may use the web console and the REST API: their role, the tenants they may see,
 * and their password (kept only as a scrypt hash). Also what users and machine tokens share:
 * roles, names, tenant grants and the `Principal` the API checks every request against.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { BadInput } from '../engine/bad-input';
import { checkTenantName } from '../engine/scope';
import { AuditTrail } from './audit';
import { TenantStore } from './tenants';

// ---------------------------------------------------------------- roles and principals

/** admin: everything; manager: rules, lists, categories and protection of its tenants; viewer: read only. */
export type Role = 'admin' | 'manager' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'manager', 'viewer'];

export function checkRole(text: string): Role {
  if (!(ROLES as readonly string[]).includes(text)) throw new BadInput(`bad role "${text}": expected admin, manager or viewer`);
  return text as Role;
}

/** Who is acting on a request: a signed-in user or a machine token. */
export interface Principal {
  readonly kind: 'user' | 'token';
  readonly name: string;
  readonly role: Role;
  /** The tenants it may see (a manager: also manage); null = every tenant (admins only). */
  readonly tenants: readonly string[] | null;
}

export function principalOf(kind: Principal['kind'], row: { readonly name: string; readonly role: Role; readonly tenants: readonly string[] | null }): Principal {
  return { kind, name: row.name, role: row.role, tenants: row.role === 'admin' ? null : [...(row.tenants ?? [])] };
}

/** The audit trail's name for a principal's changes: `user:alice`, `token:crm` (the CLI writes `cli:<os user>`). */
export function principalActor(principal: Principal): string {
  return `${principal.kind}:${principal.name}`;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Whether a lower-cased name is one an account may have (so worth looking up). */
export function isAccountName(lowerName: string): boolean {
  return NAME.test(lowerName);
}

/** User and token names: case-insensitive, kept in lower case. */
export function checkAccountName(text: string, what: 'user' | 'token'): string {
  const name = text.toLowerCase();
  if (!NAME.test(name)) {
    throw new BadInput(`bad ${what} name "${text}": expected letters, digits, '.', '_' or '-' (up to 64, starting with a letter or digit)`);
  }
  return name;
}

/**
 * The tenants a new or changed account may see: none for an admin (it sees all), at least one
 * existing tenant for a manager or viewer. Returns them sorted and without repeats.
 */
export function checkGrants(db: Database, role: Role, tenants: readonly string[]): string[] {
  const unique = grantsFor(role, tenants);
  const store = new TenantStore(db);
  for (const tenant of unique) store.requireTenant(tenant);
  return unique;
}

/** checkGrants short of looking the tenants up: the well-formed names, sorted and without repeats (none for an admin). */
export function grantsFor(role: Role, tenants: readonly string[]): string[] {
  if (role === 'admin') {
    if (tenants.length > 0) throw new BadInput('an admin sees every tenant: give no tenant for role admin');
    return [];
  }
  if (tenants.length === 0) throw new BadInput(`a ${role} needs at least one tenant`);
  return [...new Set(tenants.map((tenant) => checkTenantName(tenant)))].sort();
}

// ---------------------------------------------------------------- passwords

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 1024;

/**
 * scrypt is memory-hard: each guess costs 128·N·r bytes (32 MiB here) as well as time, which
 * is what makes GPU and ASIC guessing of a stolen database expensive. The parameters travel
 * in every stored hash, so raising them later leaves older hashes verifiable.
 */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;

/** Length in characters (code points), after the NFKC normalisation both hashing and checking apply. */
export function checkPassword(password: string): string {
  const normalized = password.normalize('NFKC');
  const length = [...normalized].length;
  if (length < PASSWORD_MIN) throw new BadInput(`password too short: at least ${PASSWORD_MIN} characters`);
  if (length > PASSWORD_MAX) throw new BadInput(`password too long: at most ${PASSWORD_MAX} characters`);
  return normalized;
}

function derive(password: string, salt: Buffer, N: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Twice the working set: node refuses a call whose estimate exceeds maxmem (32 MiB by default).
    scrypt(password.normalize('NFKC'), salt, keyLength, { N, r, p, maxmem: 256 * N * r }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64url. */
export async function hashPassword(password: string): Promise<string> {
  const normalized = checkPassword(password);
  const salt = randomBytes(SCRYPT.saltLength);
  const key = await derive(normalized, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLength);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

const STORED = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{22,128})$/;

/** Checks a password against a stored hash in constant time; false (never a throw) for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = STORED.exec(stored);
  if (!match) return false;
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Bounds keep a tampered row from asking for gigabytes; they leave room to raise the cost later.
  if (N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(match[4]!, 'base64url');
  const expected = Buffer.from(match[5]!, 'base64url');
  const actual = await derive(password, salt, N, r, p, expected.length);
  return timingSafeEqual(actual, expected);
}

/** True when a stored hash was made with other parameters than today's (rehash it at the next sign-in). */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(`scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$`);
}

/**
 * What an unknown name is checked against, so that signing in as nobody costs one scrypt
 * like signing in as somebody, and timing does not tell which names exist. Random, so no
 * password matches it.
 */
const DUMMY_HASH = ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, randomBytes(SCRYPT.saltLength).toString('base64url'), randomBytes(SCRYPT.keyLength).toString('base64url')].join('$');

/** Whether `password` is the one `stored` was made from; undefined (no such user) costs the same scrypt and is false. */
export async function passwordMatches(password: string, stored: string | undefined): Promise<boolean> {
  const ok = await verifyPassword(password, stored ?? DUMMY_HASH);
  return ok && stored !== undefined;
}

// ---------------------------------------------------------------- users

/** A user as everything outside this file sees one: never the password hash. */
export interface UserRow {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  /** null for an admin (every tenant). */
  readonly tenants: readonly string[] | null;
  readonly createdAt: number;
  /** The tenant last picked in the console's company picker, if any. */
  readonly lastTenant: string | null;
}

interface RawUser {
  id: number;
  name: string;
  role: Role;
  createdAt: number;
  lastTenant: string | null;
}

const USER_COLUMNS = 'id, name, role, created_at AS createdAt, last_tenant AS lastTenant';

/** What the audit trail keeps about a user: never a password or its hash. */
const audited = (user: UserRow) => ({ name: user.name, role: user.role, tenants: user.tenants });

/** Users of the console and API. Every change is one transaction with its audit row. */
export class UserStore {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Database,
    actor = 'system',
  ) {
    this.audit = new AuditTrail(db, actor);
  }

  /**
   * Validates a new user without its password, so a command can refuse bad input before
   * asking for one: returns the lower-cased name and the sorted grants.
   */
  checkNew(name: string, role: string, tenants: readonly string[]): { name: string; role: Role; tenants: string[] } {
    const lower = checkAccountName(name, 'user');
    const checkedRole = checkRole(role);
    const grants = checkGrants(this.db, checkedRole, tenants);
    if (this.raw(lower)) throw new BadInput(`user "${lower}" already exists`);
    return { name: lower, role: checkedRole, tenants: grants };
  }

  /** Adds a user (BadInput for a bad name, role, tenant or password, or a name taken). */
  async add(name: string, role: string, tenants: readonly string[], password: string): Promise<UserRow> {
    this.checkNew(name, role, tenants);
    const hash = await hashPassword(password);
    return this.db.transaction(() => {
      const user = this.checkNew(name, role, tenants); // again: another process may have written meanwhile
      const id = Number(
        this.db
          .prepare('INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id')
          .pluck()
          .get(user.name, user.role, hash, Date.now()),
      );
      this.writeGrants(id, user.tenants);
      const row = this.byId(id)!;
      this.audit.record('add', 'user', row.name, null, audited(row));
      return row;
    }).immediate();
  }

  list(): UserRow[] {
    const rows = this.db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY name`).all() as RawUser[];
    return rows.map((raw) => this.complete(raw));
  }

  /** By name (any case); undefined when there is none. */
  get(name: string): UserRow | undefined {
    const raw = this.raw(name.toLowerCase());
    return raw && this.complete(raw);
  }

  byId(id: number): UserRow | undefined {
    const raw = this.db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`).get(id) as RawUser | undefined;
    return raw && this.complete(raw);
  }

  /** Removes a user with its grants and every session it holds. */
  remove(name: string): void {
    this.db.transaction(() => {
      const user = this.require(name);
      this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(user.id);
      this.db.prepare('DELETE FROM user_tenants WHERE user_id = ?').run(user.id);
      this.db.prepare('DELETE FROM users WHERE id = ?').run(user.id);
      this.audit.record('remove', 'user', user.name, audited(user), null);
    }).immediate();
  }

  /** Sets a new password and ends the user's sessions (a changed password signs out everywhere). */
  async setPassword(name: string, password: string): Promise<void> {
    this.require(name);
    const hash = await hashPassword(password);
    this.db.transaction(() => {
      const user = this.require(name);
      this.db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(hash, user.id);
      this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(user.id);
      this.audit.record('change', 'user', user.name, audited(user), { ...audited(user), password: 'changed' });
    }).immediate();
  }

  /** Replaces the tenants a manager or viewer may see; the picker forgets a tenant no longer granted. */
  setTenants(name: string, tenants: readonly string[]): UserRow {
    return this.db.transaction(() => {
      const before = this.require(name);
      if (before.role === 'admin') throw new BadInput(`user "${before.name}" is an admin and sees every tenant`);
      const grants = checkGrants(this.db, before.role, tenants);
      this.db.prepare('DELETE FROM user_tenants WHERE user_id = ?').run(before.id);
      this.writeGrants(before.id, grants);
      if (before.lastTenant !== null && !grants.includes(before.lastTenant)) {
        this.db.prepare('UPDATE users SET last_tenant = NULL WHERE id = ?').run(before.id);
      }
      const after = this.byId(before.id)!;
      this.audit.record('change', 'user', after.name, audited(before), audited(after));
      return after;
    }).immediate();
  }

  /**
   * Checks a name and password. Costs one scrypt whether or not the name exists, so timing
   * reveals neither; undefined for an unknown name or a wrong password alike.
   */
  async authenticate(name: string, password: string): Promise<UserRow | undefined> {
    const lower = name.toLowerCase();
    const stored = isAccountName(lower)
      ? (this.db.prepare('SELECT password_hash FROM users WHERE name = ?').pluck().get(lower) as string | undefined)
      : undefined;
    if (!(await passwordMatches(password, stored))) return undefined;
    // Read again: the user may have been removed or changed while scrypt ran.
    const raw = this.raw(lower);
    return raw && this.complete(raw);
  }

  /** Remembers the company picker's choice; it must be a tenant the user may see. Not audited (a preference). */
  rememberTenant(name: string, tenant: string): void {
    this.db.transaction(() => {
      const user = this.require(name);
      checkTenantName(tenant);
      if (user.tenants === null) new TenantStore(this.db).requireTenant(tenant);
      else if (!user.tenants.includes(tenant)) throw new BadInput(`user "${user.name}" may not see tenant "${tenant}"`);
      this.db.prepare('UPDATE users SET last_tenant = ? WHERE id = ?').run(tenant, user.id);
    }).immediate();
  }

  private raw(lowerName: string): RawUser | undefined {
    return this.db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE name = ?`).get(lowerName) as RawUser | undefined;
  }

  private require(name: string): UserRow {
    const user = this.get(name);
    if (!user) throw new BadInput(`unknown user "${name}"`);
    return user;
  }

  private complete(raw: RawUser): UserRow {
    const tenants = raw.role === 'admin' ? null : (this.db.prepare('SELECT tenant FROM user_tenants WHERE user_id = ? ORDER BY tenant').pluck().all(raw.id) as string[]);
    return { id: raw.id, name: raw.name, role: raw.role, tenants, createdAt: raw.createdAt, lastTenant: raw.lastTenant };
  }

  private writeGrants(id: number, tenants: readonly string[]): void {
    const insert = this.db.prepare('INSERT INTO user_tenants (user_id, tenant) VALUES (?, ?)');
    for (const tenant of tenants) insert.run(id, tenant);
  }
}
