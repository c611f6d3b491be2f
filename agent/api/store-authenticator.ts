import { principalActing } from '../operations/acting';
import type { Acting } from '../operations/acting';
import type { UserBackend } from '../store/user-backend';
import { principalOf } from '../store/users';
import type { UserRow } from '../store/users';
import type { Authenticator, BrowserSession } from './authenticator';

/** Users, tokens and sessions as the store keeps them (hashes only), on either backend: what `callguard serve` and `callguard console` use. */
export class StoreAuthenticator implements Authenticator {
  /** Nothing it writes is audited (sessions, a token's last use), so the backend's actor names no change here. */
  constructor(private readonly users: UserBackend) {}

  async byToken(token: string): Promise<Acting | null> {
    const row = await this.users.verifyToken(token);
    return row ? principalActing(principalOf('token', row)) : null;
  }

  async bySession(sessionId: string): Promise<BrowserSession | null> {
    const found = await this.users.findSession(sessionId);
    if (!found) return null;
    await this.users.touchSession(sessionId);
    return this.browserSession(found.user, found.session.csrfSecret);
  }

  async signIn(name: string, password: string) {
    const user = await this.users.authenticate(name, password);
    if (!user) return null;
    await this.users.purgeExpiredSessions();
    const made = await this.users.createSession(user.id);
    return { sessionId: made.id, session: this.browserSession(user, made.csrfSecret) };
  }

  async signOut(sessionId: string): Promise<void> {
    await this.users.destroySession(sessionId);
  }

  private browserSession(user: UserRow, csrfSecret: string): BrowserSession {
    return { acting: principalActing(principalOf('user', user)), csrfSecret };
  }
}
