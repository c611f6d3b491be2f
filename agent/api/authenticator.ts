import type { Acting } from '../operations/acting';

/** A signed-in browser: who, and the secret its CSRF tokens are made from. */
export interface BrowserSession {
  readonly acting: Acting;
  readonly csrfSecret: string;
}

/**
 * How the API learns who is asking: machines by bearer token, browsers by a session
 * cookie made at sign-in. The store behind it keeps only hashes of tokens, session ids
 * and passwords.
 */
export interface Authenticator {
  byToken(token: string): Promise<Acting | null>;
  bySession(sessionId: string): Promise<BrowserSession | null>;
  /** A new session for a right name and password; null otherwise (same cost either way, off the event loop). */
  signIn(name: string, password: string): Promise<{ sessionId: string; session: BrowserSession } | null>;
  signOut(sessionId: string): Promise<void>;
}
