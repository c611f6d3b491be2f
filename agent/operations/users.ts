/**
 * Users of the console and machine tokens, for every face: the CLI's `users` and `tokens`
 * commands and the API's `/v1/users`, `/v1/tokens` and `/v1/me/tenant`. The stores validate
 * (and audit, never with a password or token); here each refusal gets the field it is about,
 * and only an administrator (every tenant, allowed to change) gets past the door.
 */
import type { Database } from 'better-sqlite3';
import { BadInput, inField } from '../engine/bad-input';
import { TokenStore } from '../store/tokens';
import type { TokenRow } from '../store/tokens';
import { UserStore, checkAccountName, checkGrants, checkPassword, checkRole } from '../store/users';
import type { Role, UserRow } from '../store/users';
import { Forbidden, NotFound } from './acting';
import type { Acting } from './acting';

/** Accounts are an administrator's business: a manager could otherwise grant themselves any tenant. */
export function requireAdmin(acting: Acting): void {
  if (acting.tenants !== null || !acting.mayChange) throw new Forbidden(`${acting.actor} may not manage users or tokens: administrators only`);
}

export interface NewAccount {
  readonly name: string;
  readonly role: string;
  /** The tenants a manager or viewer may see; none for an admin. */
  readonly tenants: readonly string[];
}

/** Name, role and tenants checked in the store's own terms, each refusal naming its field. */
function checkAccount(db: Database, what: 'user' | 'token', input: NewAccount): { name: string; role: Role; tenants: string[] } {
  const name = inField('name', () => checkAccountName(input.name, what));
  const role = inField('role', () => checkRole(input.role));
  const tenants = inField('tenants', () => checkGrants(db, role, input.tenants));
  return { name, role, tenants };
}

// ---------------------------------------------------------------- users

/** A user as listings show one: never a password or its hash. */
export interface UserView {
  readonly name: string;
  readonly role: Role;
  /** null for an admin (every tenant). */
  readonly tenants: string[] | null;
  readonly createdAt: number;
  readonly lastTenant: string | null;
}

const userView = (user: UserRow): UserView => ({ name: user.name, role: user.role, tenants: user.tenants && [...user.tenants], createdAt: user.createdAt, lastTenant: user.lastTenant });

export function listUsers(db: Database, acting: Acting): UserView[] {
  requireAdmin(acting);
  return new UserStore(db, acting.actor).list().map(userView);
}

/**
 * Checks a new user without its password, so that the CLI refuses bad input before asking
 * for one; the name lower-cased, the grants sorted.
 */
export function checkNewUser(db: Database, acting: Acting, input: NewAccount): { name: string; role: Role; tenants: string[] } {
  requireAdmin(acting);
  const checked = checkAccount(db, 'user', input);
  inField('name', () => new UserStore(db, acting.actor).checkNew(input.name, input.role, input.tenants));
  return checked;
}

/** Adds a user (the password hashed with scrypt off the event loop), audited as `acting` without the password. */
export async function addUser(db: Database, acting: Acting, input: NewAccount & { readonly password: string }): Promise<UserView> {
  checkNewUser(db, acting, input);
  inField('password', () => checkPassword(input.password));
  return userView(await inFieldAsync('name', () => new UserStore(db, acting.actor).add(input.name, input.role, input.tenants, input.password)));
}

/** Removes a user and ends their sessions; NotFound for an unknown name. */
export function removeUser(db: Database, acting: Acting, name: string): void {
  requireAdmin(acting);
  const store = new UserStore(db, acting.actor);
  if (!store.get(name)) throw new NotFound(`unknown user "${name}"`);
  store.remove(name);
}

/** Replaces the tenants a manager or viewer may see. */
export function setUserTenants(db: Database, acting: Acting, name: string, tenants: readonly string[]): UserView {
  requireAdmin(acting);
  const store = new UserStore(db, acting.actor);
  if (!store.get(name)) throw new NotFound(`unknown user "${name}"`);
  return userView(inField('tenants', () => store.setTenants(name, tenants)));
}

/** The user name of a signed-in person (`user:alice` → alice); null for a token or the command line. */
export function signedInUser(acting: Acting): string | null {
  return acting.actor.startsWith('user:') ? acting.actor.slice('user:'.length) : null;
}

/** Remembers the company picker's choice for the signed-in user: only people pick (a token gets BadInput). */
export function rememberTenant(db: Database, acting: Acting, tenant: string): void {
  const name = signedInUser(acting);
  if (name === null) throw new BadInput(`${acting.actor} is not a signed-in user: only people pick a company`);
  const store = new UserStore(db, acting.actor);
  if (!store.get(name)) throw new NotFound(`unknown user "${name}"`);
  inField('tenant', () => store.rememberTenant(name, tenant));
}

/** The tenant the signed-in user last picked (null: none yet); undefined for a token, or a user the store does not hold. */
export function lastTenantOf(db: Database, acting: Acting): string | null | undefined {
  const name = signedInUser(acting);
  return name === null ? undefined : new UserStore(db, acting.actor).get(name)?.lastTenant;
}

// ---------------------------------------------------------------- tokens

/** A token as listings show one: never the token or its hash. */
export interface TokenView {
  readonly name: string;
  readonly role: Role;
  /** null for an admin token (every tenant). */
  readonly tenants: string[] | null;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
}

const tokenView = (row: TokenRow): TokenView => ({ name: row.name, role: row.role, tenants: row.tenants && [...row.tenants], createdAt: row.createdAt, lastUsedAt: row.lastUsedAt });

export function listTokens(db: Database, acting: Acting): TokenView[] {
  requireAdmin(acting);
  return new TokenStore(db, acting.actor).list().map(tokenView);
}

/** Adds a token; the answer holds the token itself, which exists nowhere else (only its SHA-256 is kept): show it once. */
export function addToken(db: Database, acting: Acting, input: NewAccount): { token: string; row: TokenView } {
  requireAdmin(acting);
  checkAccount(db, 'token', input);
  const { token, row } = inField('name', () => new TokenStore(db, acting.actor).add(input.name, input.role, input.tenants));
  return { token, row: tokenView(row) };
}

/** Removes a token: requests bearing it are refused from then on. NotFound for an unknown name. */
export function removeToken(db: Database, acting: Acting, name: string): void {
  requireAdmin(acting);
  const store = new TokenStore(db, acting.actor);
  if (!store.list().some((row) => row.name === name.toLowerCase())) throw new NotFound(`unknown token "${name}"`);
  store.remove(name);
}

/** inField for a parse that completes later. */
async function inFieldAsync<T>(field: string, parse: () => Promise<T>): Promise<T> {
  try {
    return await parse();
  } catch (error) {
    if (error instanceof BadInput && error.field === undefined) throw new BadInput(error.message, field);
    throw error;
  }
}
