/** Who is signed in, the companies they see, and the one they are working on: shared by every page. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Me, Tenant } from './api';

export interface Session {
  readonly me: Me;
  readonly tenants: readonly Tenant[];
  /** The picked company; null: every company the person may see. */
  readonly tenant: string | null;
  /** Where the pick is remembered: by the agent for this user, or (an agent without PUT /v1/me/tenant) in this browser only. */
  readonly remembered: 'agent' | 'browser';
  chooseTenant(name: string | null): Promise<void>;
  /** The company a DID belongs to, when the person may see it. */
  didOwner(did: string): string | undefined;
  /** The DIDs of the picked company, or of every company seen. */
  dids(): string[];
  /** Reloads the companies (after something changed their rule counts). */
  refreshTenants(): void;
  signOut(): Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

/** What the person may change in the picked company: nothing for a viewer. */
export const mayWrite = (session: Session) => session.me.mayChange;
export const isAdmin = (session: Session) => session.me.tenants === null;
