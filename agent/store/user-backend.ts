import type { NewSession, SessionRow } from './sessions';
import type { TokenRow } from './tokens';
import type { UserRow } from './users';

/**
 * Users of the console, machine tokens and browser sessions as the user operations
 * (agent/operations/users.ts) and the API's authenticator reach them, on either backend.
 * Each change to a user or token is one transaction with its audit entry, which never holds
 * a password, a token or a hash; sessions and the company picker's choice are not audited.
 * Passwords are hashed, and tokens and session ids made, by the stores' shared code
 * (users.ts, tokens.ts, sessions.ts), never per backend. The operations check first and
 * word the refusals; a write here checks again in its transaction and refuses as the
 * SQLite stores do.
 */
export interface UserBackend {
  /** What grants are checked against. */
  tenantExists(name: string): Promise<boolean>;

  /** Every user, by name. */
  listUsers(): Promise<UserRow[]>;
  /** By name (any case); undefined when there is none. */
  user(name: string): Promise<UserRow | undefined>;
  /** Adds a user (its password hashed off the event loop); BadInput for a bad name, role, tenant or password, or a name taken. */
  addUser(name: string, role: string, tenants: readonly string[], password: string): Promise<UserRow>;
  /** Removes a user with its grants and sessions; BadInput for an unknown name. */
  removeUser(name: string): Promise<void>;
  /** Sets a new password and ends the user's sessions. */
  setPassword(name: string, password: string): Promise<void>;
  /** Replaces a manager's or viewer's tenants; the remembered company goes when no longer granted. */
  setTenants(name: string, tenants: readonly string[]): Promise<UserRow>;
  /** The user of a right name and password; undefined otherwise, at the same cost either way. */
  authenticate(name: string, password: string): Promise<UserRow | undefined>;
  /** Remembers the company picker's choice: a tenant the user may see. */
  rememberTenant(name: string, tenant: string): Promise<void>;

  /** Every token, by name: never the token or its hash. */
  listTokens(): Promise<TokenRow[]>;
  /** Adds a token; the returned `token` exists nowhere else. BadInput as for a user, or a name taken. */
  addToken(name: string, role: string, tenants: readonly string[]): Promise<{ token: string; row: TokenRow }>;
  /** Removes a token with its grants; BadInput for an unknown name. */
  removeToken(name: string): Promise<void>;
  /** The token a presented bearer string is, noting its use (at most once a minute); undefined for none. */
  verifyToken(presented: string): Promise<TokenRow | undefined>;

  /** Starts a session for a user (by id), idle expiry `ttlMs`. */
  createSession(userId: number, ttlMs?: number): Promise<NewSession>;
  /** The live session and its user as they are now; undefined when it is unknown or over. */
  findSession(id: string): Promise<{ session: SessionRow; user: UserRow } | undefined>;
  /** Slides a live session's expiry; the new expiry, or undefined when it is gone or over. */
  touchSession(id: string, ttlMs?: number): Promise<number | undefined>;
  /** Ends one session (sign-out); true if it existed. */
  destroySession(id: string): Promise<boolean>;
  /** Deletes the sessions past their expiry; how many. */
  purgeExpiredSessions(): Promise<number>;
}
