/**
 * Users of the console and machine tokens, for every face: the CLI's `users` and `tokens`
 * commands and the API's `/v1/users`, `/v1/tokens` and `/v1/me/tenant`, on either backend
 * (agent/store/user-backend.ts). The backends validate again in their transactions (and
 * audit, never with a password or token); here each refusal gets the field it is about,
 * and only an administrator (every tenant, allowed to change) gets past the door.
 */
import { BadInput, inField } from '../engine/bad-input';
import type { TokenRow } from '../store/tokens';
import { unknownTenant } from '../store/tenants';
import type { UserBackend } from '../store/user-backend';
import { checkAccountName, checkPassword, checkRole, grantsFor } from '../store/users';
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

/** Name, role and tenants checked in the store's own terms (on either backend), each refusal naming its field. */
async function checkAccount(backend: UserBackend, what: 'user' | 'token', input: NewAccount): Promise<{ name: string; role: Role; tenants: string[] }> {
  const name = inField('name', () => checkAccountName(input.name, what));
  const role = inField('role', () => checkRole(input.role));
  const tenants = inField('tenants', () => grantsFor(role, input.tenants));
  for (const tenant of tenants) if (!(await backend.tenantExists(tenant))) throw unknownTenant(tenant, 'tenants');
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

export async function listUsers(backend: UserBackend, acting: Acting): Promise<UserView[]> {
  requireAdmin(acting);
  return (await backend.listUsers()).map(userView);
}

/**
 * Checks a new user without its password, so that the CLI refuses bad input before asking
 * for one; the name lower-cased, the grants sorted.
 */
export async function checkNewUser(backend: UserBackend, acting: Acting, input: NewAccount): Promise<{ name: string; role: Role; tenants: string[] }> {
  requireAdmin(acting);
  const checked = await checkAccount(backend, 'user', input);
  if (await backend.user(checked.name)) throw new BadInput(`user "${checked.name}" already exists`, 'name');
  return checked;
}

/** Adds a user (the password hashed with scrypt off the event loop), audited as `acting` without the password. */
export async function addUser(backend: UserBackend, acting: Acting, input: NewAccount & { readonly password: string }): Promise<UserView> {
  await checkNewUser(backend, acting, input);
  inField('password', () => checkPassword(input.password));
  return userView(await inFieldAsync('name', () => backend.addUser(input.name, input.role, input.tenants, input.password)));
}

/** Removes a user and ends their sessions; NotFound for an unknown name. */
export async function removeUser(backend: UserBackend, acting: Acting, name: string): Promise<void> {
  await requireUser(backend, acting, name);
  await backend.removeUser(name);
}

/** Replaces the tenants a manager or viewer may see. */
export async function setUserTenants(backend: UserBackend, acting: Acting, name: string, tenants: readonly string[]): Promise<UserView> {
  await requireUser(backend, acting, name);
  return userView(await inFieldAsync('tenants', () => backend.setTenants(name, tenants)));
}

/**
 * The user whose password is to change, before the command line asks for it: BadInput for
 * an unknown name (the command line's word for it, where the API answers NotFound).
 */
export async function userForPassword(backend: UserBackend, acting: Acting, name: string): Promise<UserView> {
  requireAdmin(acting);
  const user = await backend.user(name);
  if (!user) throw new BadInput(`unknown user "${name}"`);
  return userView(user);
}

/** Sets a user's password (hashed with scrypt) and ends their sessions, audited as `acting` without it. */
export async function setUserPassword(backend: UserBackend, acting: Acting, name: string, password: string): Promise<void> {
  await userForPassword(backend, acting, name);
  await backend.setPassword(name, password);
}

/** The user name of a signed-in person (`user:alice` → alice); null for a token or the command line. */
export function signedInUser(acting: Acting): string | null {
  return acting.actor.startsWith('user:') ? acting.actor.slice('user:'.length) : null;
}

/** Remembers the company picker's choice for the signed-in user: only people pick (a token gets BadInput). */
export async function rememberTenant(backend: UserBackend, acting: Acting, tenant: string): Promise<void> {
  const name = signedInUser(acting);
  if (name === null) throw new BadInput(`${acting.actor} is not a signed-in user: only people pick a company`);
  if (!(await backend.user(name))) throw new NotFound(`unknown user "${name}"`);
  await inFieldAsync('tenant', () => backend.rememberTenant(name, tenant));
}

/** The tenant the signed-in user last picked (null: none yet); undefined for a token, or a user the store does not hold. */
export async function lastTenantOf(backend: UserBackend, acting: Acting): Promise<string | null | undefined> {
  const name = signedInUser(acting);
  return name === null ? undefined : (await backend.user(name))?.lastTenant;
}

/** The administrator's door, then the user: NotFound for an unknown name. */
async function requireUser(backend: UserBackend, acting: Acting, name: string): Promise<void> {
  requireAdmin(acting);
  if (!(await backend.user(name))) throw new NotFound(`unknown user "${name}"`);
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

export async function listTokens(backend: UserBackend, acting: Acting): Promise<TokenView[]> {
  requireAdmin(acting);
  return (await backend.listTokens()).map(tokenView);
}

/** Adds a token; the answer holds the token itself, which exists nowhere else (only its SHA-256 is kept): show it once. */
export async function addToken(backend: UserBackend, acting: Acting, input: NewAccount): Promise<{ token: string; row: TokenView }> {
  requireAdmin(acting);
  await checkAccount(backend, 'token', input);
  const { token, row } = await inFieldAsync('name', () => backend.addToken(input.name, input.role, input.tenants));
  return { token, row: tokenView(row) };
}

/** Removes a token: requests bearing it are refused from then on. NotFound for an unknown name. */
export async function removeToken(backend: UserBackend, acting: Acting, name: string): Promise<void> {
  requireAdmin(acting);
  if (!(await backend.listTokens()).some((row) => row.name === name.toLowerCase())) throw new NotFound(`unknown token "${name}"`);
  await backend.removeToken(name);
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
