import type { Database } from 'better-sqlite3';
import { principalActing } from '../operations/acting';
import { SessionStore } from '../store/sessions';
import { TokenStore } from '../store/tokens';
import { principalOf, UserStore } from '../store/users';
import type { UserRow } from '../store/users';
import type { Authenticator, BrowserSession } from './authenticator';

/** Users, tokens and sessions as the store keeps them (hashes only): what `callguard serve` and `callguard console` use. */
export class StoreAuthenticator implements Authenticator {
  private readonly users: UserStore;
  private readonly tokens: TokenStore;
  private readonly sessions: SessionStore;

  constructor(db: Database) {
    this.users = new UserStore(db, 'console');
    this.tokens = new TokenStore(db, 'console');
    this.sessions = new SessionStore(db);
  }

  byToken(token: string) {
    const row = this.tokens.verify(token);
    return row ? principalActing(principalOf('token', row)) : null;
  }

  bySession(sessionId: string): BrowserSession | null {
    const found = this.sessions.find(sessionId);
    if (!found) return null;
    this.sessions.touch(sessionId);
    return this.browserSession(found.user, found.session.csrfSecret);
  }

  async signIn(name: string, password: string) {
    const user = await this.users.authenticate(name, password);
    if (!user) return null;
    this.sessions.purgeExpired();
    const made = this.sessions.create(user.id);
    return { sessionId: made.id, session: this.browserSession(user, made.csrfSecret) };
  }

  signOut(sessionId: string): void {
    this.sessions.destroy(sessionId);
  }

  private browserSession(user: UserRow, csrfSecret: string): BrowserSession {
    return { acting: principalActing(principalOf('user', user)), csrfSecret };
  }
}
