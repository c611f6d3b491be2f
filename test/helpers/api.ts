/**
 * For API tests: who is asking, held in memory. Three bearer tokens (an administrator of
 * everything, a manager of acme, a viewer of acme) and one user, alice, manager of acme,
 * who signs in with PASSWORD. The store-backed authenticator `callguard serve` uses is
 * tested with the users and tokens.
 */
import { randomBytes } from 'node:crypto';
import type { Authenticator, BrowserSession } from '../../agent/api/authenticator';
import type { Acting } from '../../agent/operations/acting';

export const ADMIN: Acting = { actor: 'token:ops', tenants: null, mayChange: true };
export const ACME_MANAGER: Acting = { actor: 'user:alice', tenants: ['acme'], mayChange: true };
export const ACME_VIEWER: Acting = { actor: 'token:wallboard', tenants: ['acme'], mayChange: false };
export const PASSWORD = 'correct horse battery staple';

/** Tokens and one user, held in memory: enough to exercise every boundary the API draws. */
export class MemoryAuthenticator implements Authenticator {
  readonly sessions = new Map<string, BrowserSession>();
  async byToken(token: string): Promise<Acting | null> {
    return ({ 'cg_admin': ADMIN, 'cg_acme': ACME_MANAGER, 'cg_viewer': ACME_VIEWER } as Record<string, Acting>)[token] ?? null;
  }
  async bySession(sessionId: string): Promise<BrowserSession | null> {
    return this.sessions.get(sessionId) ?? null;
  }
  async signIn(name: string, password: string) {
    if (name !== 'alice' || password !== PASSWORD) return null;
    const sessionId = randomBytes(32).toString('base64url');
    const session = { acting: ACME_MANAGER, csrfSecret: randomBytes(18).toString('base64url') };
    this.sessions.set(sessionId, session);
    return { sessionId, session };
  }
  async signOut(sessionId: string): Promise<void> {
    this.sessions.delete(sessionId);
  }
}


/** Request headers for one of the tokens: cg_admin, cg_acme or cg_viewer. */
export const as = (token: string) => ({ authorization: `Bearer ${token}` });
