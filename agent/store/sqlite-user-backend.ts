import type { Database } from 'better-sqlite3';
import { SessionStore } from './sessions';
import type { NewSession, SessionRow } from './sessions';
import { TenantStore } from './tenants';
import { TokenStore } from './tokens';
import type { TokenRow } from './tokens';
import type { UserBackend } from './user-backend';
import { UserStore } from './users';
import type { UserRow } from './users';

/** UserBackend on the SQLite file; each write is done by its store without yielding inside a transaction. */
export class SqliteUserBackend implements UserBackend {
  private readonly users: UserStore;
  private readonly tokens: TokenStore;
  private readonly sessions: SessionStore;
  private readonly tenants: TenantStore;

  /** `clock`: milliseconds since the epoch for tokens and sessions, as their stores take it. */
  constructor(db: Database, actor: string, clock: () => number = Date.now) {
    this.users = new UserStore(db, actor);
    this.tokens = new TokenStore(db, actor, clock);
    this.sessions = new SessionStore(db, clock);
    this.tenants = new TenantStore(db, actor);
  }

  async tenantExists(name: string): Promise<boolean> {
    return this.tenants.exists(name);
  }

  async listUsers(): Promise<UserRow[]> {
    return this.users.list();
  }

  async user(name: string): Promise<UserRow | undefined> {
    return this.users.get(name);
  }

  addUser(name: string, role: string, tenants: readonly string[], password: string): Promise<UserRow> {
    return this.users.add(name, role, tenants, password);
  }

  async removeUser(name: string): Promise<void> {
    this.users.remove(name);
  }

  setPassword(name: string, password: string): Promise<void> {
    return this.users.setPassword(name, password);
  }

  async setTenants(name: string, tenants: readonly string[]): Promise<UserRow> {
    return this.users.setTenants(name, tenants);
  }

  authenticate(name: string, password: string): Promise<UserRow | undefined> {
    return this.users.authenticate(name, password);
  }

  async rememberTenant(name: string, tenant: string): Promise<void> {
    this.users.rememberTenant(name, tenant);
  }

  async listTokens(): Promise<TokenRow[]> {
    return this.tokens.list();
  }

  async addToken(name: string, role: string, tenants: readonly string[]): Promise<{ token: string; row: TokenRow }> {
    return this.tokens.add(name, role, tenants);
  }

  async removeToken(name: string): Promise<void> {
    this.tokens.remove(name);
  }

  async verifyToken(presented: string): Promise<TokenRow | undefined> {
    return this.tokens.verify(presented);
  }

  async createSession(userId: number, ttlMs?: number): Promise<NewSession> {
    return this.sessions.create(userId, ttlMs);
  }

  async findSession(id: string): Promise<{ session: SessionRow; user: UserRow } | undefined> {
    return this.sessions.find(id);
  }

  async touchSession(id: string, ttlMs?: number): Promise<number | undefined> {
    return this.sessions.touch(id, ttlMs);
  }

  async destroySession(id: string): Promise<boolean> {
    return this.sessions.destroy(id);
  }

  async purgeExpiredSessions(): Promise<number> {
    return this.sessions.purgeExpired();
  }
}
