import type { Pool, PoolClient } from 'pg';
import { BadInput } from '../../engine/bad-input';
import { checkTenantName } from '../../engine/scope';
import { SESSION_IDLE_MS, newSession, presentedSessionHash, touchedExpiry } from '../sessions';
import type { NewSession, SessionRow } from '../sessions';
import { unknownTenant } from '../tenants';
import { lastUseDue, newToken, presentedTokenHash } from '../tokens';
import type { TokenRow } from '../tokens';
import type { UserBackend } from '../user-backend';
import { checkAccountName, checkRole, grantsFor, hashPassword, isAccountName, passwordMatches } from '../users';
import type { Role, UserRow } from '../users';
import { auditedTransaction } from './audited-transaction';
import type { AuditRecorder } from './audited-transaction';

type Queryable = Pool | PoolClient;

/** A user or token with its grants in one row, the grants ordered as SQLite orders text (byte by byte). */
const USER_COLUMNS = `u.id, u.name, u.role, u.created_at AS "createdAt", u.last_tenant AS "lastTenant",
  ARRAY(SELECT g.tenant FROM user_tenants g WHERE g.user_id = u.id ORDER BY g.tenant COLLATE "C") AS tenants`;
const TOKEN_COLUMNS = `t.id, t.name, t.role, t.created_at AS "createdAt", t.last_used_at AS "lastUsedAt",
  ARRAY(SELECT g.tenant FROM token_tenants g WHERE g.token_id = t.id ORDER BY g.tenant COLLATE "C") AS tenants`;
const SESSION_COLUMNS = 'user_id AS "userId", csrf_secret AS "csrfSecret", created_at AS "createdAt", last_seen_at AS "lastSeenAt", expires_at AS "expiresAt"';

/** An admin sees every tenant: no grants, shown as null. */
const withGrants = <Row extends { role: Role; tenants: readonly string[] | null }>(row: Row): Row => ({ ...row, tenants: row.role === 'admin' ? null : row.tenants });

/** What the audit trail keeps about a user or token, as the SQLite stores write it: never a secret or its hash. */
const audited = (account: UserRow | TokenRow) => ({ name: account.name, role: account.role, tenants: account.tenants });

/** Where users and tokens are kept: alike but for the secret's column. */
const ACCOUNTS = {
  user: { table: 'users', secret: 'password_hash', grants: 'user_tenants', owner: 'user_id' },
  token: { table: 'tokens', secret: 'token_hash', grants: 'token_tenants', owner: 'token_id' },
} as const;

/** PostgreSQL refuses a NUL in text; no name holds one, so such a name is simply not there. */
const storable = (text: string) => !text.includes('\0');

/** UserBackend on a fleet's PostgreSQL: each change to a user or token and its audit entry in one transaction. */
export class PostgresUserBackend implements UserBackend {
  constructor(
    private readonly pool: Pool,
    private readonly actor: string,
    /** Milliseconds since the epoch; tests pass their own. */
    private readonly clock: () => number = Date.now,
  ) {}

  async tenantExists(name: string): Promise<boolean> {
    return storable(name) && ((await this.pool.query('SELECT 1 FROM tenants WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  // ---------------------------------------------------------------- users

  async listUsers(): Promise<UserRow[]> {
    return (await this.pool.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u ORDER BY u.name COLLATE "C"`)).rows.map(withGrants);
  }

  user(name: string): Promise<UserRow | undefined> {
    return this.userNamed(this.pool, name);
  }

  async addUser(name: string, role: string, tenants: readonly string[], password: string): Promise<UserRow> {
    await this.checkNew(this.pool, 'user', name, role, tenants); // before the slow hash
    const hash = await hashPassword(password);
    return this.transaction(async (client, audit) => {
      const id = await this.insertAccount(client, 'user', name, role, tenants, hash); // checked again: another process may have written meanwhile
      const row = (await this.userWhere(client, 'u.id = $1', [id]))!;
      await audit('add', 'user', row.name, null, audited(row));
      return row;
    });
  }

  removeUser(name: string): Promise<void> {
    return this.transaction(async (client, audit) => {
      const user = await this.requireUser(client, name);
      await client.query('DELETE FROM sessions WHERE user_id = $1', [user.id]);
      await client.query('DELETE FROM user_tenants WHERE user_id = $1', [user.id]);
      await client.query('DELETE FROM users WHERE id = $1', [user.id]);
      await audit('remove', 'user', user.name, audited(user), null);
    });
  }

  async setPassword(name: string, password: string): Promise<void> {
    await this.requireUser(this.pool, name);
    const hash = await hashPassword(password);
    await this.transaction(async (client, audit) => {
      const user = await this.requireUser(client, name);
      await client.query('UPDATE users SET password_hash = $1 WHERE id = $2', [hash, user.id]);
      await client.query('DELETE FROM sessions WHERE user_id = $1', [user.id]); // a changed password signs out everywhere
      await audit('change', 'user', user.name, audited(user), { ...audited(user), password: 'changed' });
    });
  }

  setTenants(name: string, tenants: readonly string[]): Promise<UserRow> {
    return this.transaction(async (client, audit) => {
      const before = await this.requireUser(client, name);
      if (before.role === 'admin') throw new BadInput(`user "${before.name}" is an admin and sees every tenant`);
      const grants = await requireGrants(client, before.role, tenants);
      await client.query('DELETE FROM user_tenants WHERE user_id = $1', [before.id]);
      await client.query('INSERT INTO user_tenants (user_id, tenant) SELECT $1, unnest($2::text[])', [before.id, grants]);
      if (before.lastTenant !== null && !grants.includes(before.lastTenant)) await client.query('UPDATE users SET last_tenant = NULL WHERE id = $1', [before.id]);
      const after = (await this.userWhere(client, 'u.id = $1', [before.id]))!;
      await audit('change', 'user', after.name, audited(before), audited(after));
      return after;
    });
  }

  async authenticate(name: string, password: string): Promise<UserRow | undefined> {
    const lower = name.toLowerCase();
    const stored = isAccountName(lower)
      ? (await this.pool.query<{ hash: string }>('SELECT password_hash AS hash FROM users WHERE name = $1', [lower])).rows[0]?.hash
      : undefined;
    if (!(await passwordMatches(password, stored))) return undefined;
    return this.userNamed(this.pool, lower); // again: the user may have been removed or changed while scrypt ran
  }

  /** Not audited: a preference. */
  rememberTenant(name: string, tenant: string): Promise<void> {
    return this.transaction(async (client) => {
      const user = await this.requireUser(client, name);
      checkTenantName(tenant);
      if (user.tenants === null) await requireTenants(client, [tenant]);
      else if (!user.tenants.includes(tenant)) throw new BadInput(`user "${user.name}" may not see tenant "${tenant}"`);
      await client.query('UPDATE users SET last_tenant = $1 WHERE id = $2', [tenant, user.id]);
    });
  }

  // ---------------------------------------------------------------- tokens

  async listTokens(): Promise<TokenRow[]> {
    return (await this.pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens t ORDER BY t.name COLLATE "C"`)).rows.map(withGrants);
  }

  addToken(name: string, role: string, tenants: readonly string[]): Promise<{ token: string; row: TokenRow }> {
    const { token, hash } = newToken();
    return this.transaction(async (client, audit) => {
      const id = await this.insertAccount(client, 'token', name, role, tenants, hash);
      const row = (await this.tokenWhere(client, 't.id = $1', [id]))!;
      await audit('add', 'token', row.name, null, audited(row));
      return { token, row };
    });
  }

  removeToken(name: string): Promise<void> {
    return this.transaction(async (client, audit) => {
      const token = storable(name) ? await this.tokenWhere(client, 't.name = $1 FOR UPDATE OF t', [name.toLowerCase()]) : undefined;
      if (!token) throw new BadInput(`unknown token "${name}"`);
      await client.query('DELETE FROM token_tenants WHERE token_id = $1', [token.id]);
      await client.query('DELETE FROM tokens WHERE id = $1', [token.id]);
      await audit('remove', 'token', token.name, audited(token), null);
    });
  }

  async verifyToken(presented: string): Promise<TokenRow | undefined> {
    const hash = presentedTokenHash(presented);
    if (hash === undefined) return undefined;
    const token = await this.tokenWhere(this.pool, 't.token_hash = $1', [hash]);
    if (!token) return undefined;
    const now = this.clock();
    if (!lastUseDue(token.lastUsedAt, now)) return token;
    await this.pool.query('UPDATE tokens SET last_used_at = $1 WHERE id = $2', [now, token.id]);
    return { ...token, lastUsedAt: now };
  }

  // ---------------------------------------------------------------- sessions (not audited)

  async createSession(userId: number, ttlMs: number = SESSION_IDLE_MS): Promise<NewSession> {
    const now = this.clock();
    const made = newSession(now, ttlMs);
    await this.pool.query('INSERT INTO sessions (id_hash, user_id, csrf_secret, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)', [
      made.idHash, userId, made.session.csrfSecret, now, made.session.expiresAt,
    ]);
    return made.session;
  }

  async findSession(id: string): Promise<{ session: SessionRow; user: UserRow } | undefined> {
    const hash = presentedSessionHash(id);
    if (hash === undefined) return undefined;
    const session = (await this.pool.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id_hash = $1 AND expires_at > $2`, [hash, this.clock()])).rows[0];
    if (!session) return undefined;
    const user = await this.userWhere(this.pool, 'u.id = $1', [session.userId]); // as it is now: role and tenants read afresh
    return user && { session, user };
  }

  async touchSession(id: string, ttlMs: number = SESSION_IDLE_MS): Promise<number | undefined> {
    const found = await this.findSession(id);
    if (!found) return undefined;
    const now = this.clock();
    const touched = touchedExpiry(found.session, now, ttlMs);
    if (touched.write) await this.pool.query('UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id_hash = $3', [now, touched.expiresAt, presentedSessionHash(id)]);
    return touched.expiresAt;
  }

  async destroySession(id: string): Promise<boolean> {
    const hash = presentedSessionHash(id);
    if (hash === undefined) return false;
    return ((await this.pool.query('DELETE FROM sessions WHERE id_hash = $1', [hash])).rowCount ?? 0) > 0;
  }

  async purgeExpiredSessions(): Promise<number> {
    return (await this.pool.query('DELETE FROM sessions WHERE expires_at <= $1', [this.clock()])).rowCount ?? 0;
  }

  // ---------------------------------------------------------------- helpers

  /**
   * A new user's or token's name, role and grants checked as the SQLite stores check them
   * (in that order), the granted tenants held against removal until the transaction ends.
   */
  private async checkNew(on: Queryable, what: 'user' | 'token', name: string, role: string, tenants: readonly string[]): Promise<{ name: string; role: Role; tenants: string[] }> {
    const lower = checkAccountName(name, what);
    const checkedRole = checkRole(role);
    const grants = await requireGrants(on, checkedRole, tenants);
    if ((await on.query(`SELECT 1 FROM ${ACCOUNTS[what].table} WHERE name = $1`, [lower])).rowCount) throw taken(what, lower);
    return { name: lower, role: checkedRole, tenants: grants };
  }

  /** A new user or token (its secret kept as `hash`) with its grants, checked inside the transaction; its id. */
  private async insertAccount(client: PoolClient, what: 'user' | 'token', name: string, role: string, tenants: readonly string[], hash: string): Promise<number> {
    const account = await this.checkNew(client, what, name, role, tenants);
    const { table, secret, grants, owner } = ACCOUNTS[what];
    const { rows } = await client.query<{ id: number }>(
      `INSERT INTO ${table} (name, role, ${secret}, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING id`,
      [account.name, account.role, hash, this.clock()],
    );
    if (!rows[0]) throw taken(what, account.name);
    await client.query(`INSERT INTO ${grants} (${owner}, tenant) SELECT $1, unnest($2::text[])`, [rows[0].id, account.tenants]);
    return rows[0].id;
  }

  private userNamed(on: Queryable, name: string, lock = ''): Promise<UserRow | undefined> {
    return storable(name) ? this.userWhere(on, `u.name = $1${lock}`, [name.toLowerCase()]) : Promise.resolve(undefined);
  }

  /** The user, locked until the transaction ends; BadInput for an unknown name. */
  private async requireUser(on: Queryable, name: string): Promise<UserRow> {
    const user = await this.userNamed(on, name, ' FOR UPDATE OF u');
    if (!user) throw new BadInput(`unknown user "${name}"`);
    return user;
  }

  private async userWhere(on: Queryable, condition: string, values: unknown[]): Promise<UserRow | undefined> {
    const row = (await on.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE ${condition}`, values)).rows[0];
    return row && withGrants(row);
  }

  private async tokenWhere(on: Queryable, condition: string, values: unknown[]): Promise<TokenRow | undefined> {
    const row = (await on.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens t WHERE ${condition}`, values)).rows[0];
    return row && withGrants(row);
  }

  private transaction<T>(work: (client: PoolClient, audit: AuditRecorder) => Promise<T>): Promise<T> {
    return auditedTransaction(this.pool, this.actor, work);
  }
}

const taken = (what: 'user' | 'token', name: string) => new BadInput(`${what} "${name}" already exists`);

/** The grants of a role (sorted, without repeats), each an existing tenant held until the transaction ends. */
async function requireGrants(on: Queryable, role: Role, tenants: readonly string[]): Promise<string[]> {
  const grants = grantsFor(role, tenants);
  await requireTenants(on, grants);
  return grants;
}

/** Each of these (well-formed) tenants exists, held until the transaction ends; the first missing one refused. */
async function requireTenants(on: Queryable, tenants: readonly string[]): Promise<void> {
  const { rows } = await on.query<{ name: string }>('SELECT name FROM tenants WHERE name = ANY($1) FOR SHARE', [tenants]);
  const missing = tenants.find((tenant) => !rows.some((row) => row.name === tenant));
  if (missing !== undefined) throw unknownTenant(missing);
}
