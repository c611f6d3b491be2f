// Event WebSocket sessions and application registration.
//
// As in Asterisk: an application is "active" while a WebSocket serves it; a newer
// WebSocket for the same application takes it over (the old one gets
// ApplicationReplaced); events for an inactive application are dropped, never queued.
import type { WebSocket } from 'ws';
import { SIM_EVENT_TYPES } from './swagger';
import { asteriskTimestamp, type AriEvent, type EventBody } from './shapes';

export interface SentEvent {
  application: string;
  event: AriEvent;
}

export class Session {
  readonly apps: string[];
  constructor(
    readonly ws: WebSocket,
    apps: string[],
    readonly subscribeAll: boolean,
  ) {
    this.apps = [...apps];
  }
}

const DECLARED_EVENTS = new Set(SIM_EVENT_TYPES);

export class EventHub {
  private readonly sessions = new Set<Session>();
  private readonly owners = new Map<string, Session>();
  /** Applications that have ever been registered (they stay known, like in Asterisk). */
  readonly knownApps = new Set<string>();
  /** How long each event takes to reach its WebSocket (in order): the network between Asterisk and the agent. */
  eventDelayMs = 0;

  constructor(
    private readonly asteriskId: string,
    private readonly onSent: (sent: SentEvent) => void,
  ) {}

  register(ws: WebSocket, apps: string[], subscribeAll: boolean): Session {
    const session = new Session(ws, apps, subscribeAll);
    this.sessions.add(session);
    for (const app of apps) {
      const previous = this.owners.get(app);
      if (previous && previous !== session) {
        this.send(previous, app, { type: 'ApplicationReplaced', timestamp: asteriskTimestamp() });
      }
      this.owners.set(app, session);
      this.knownApps.add(app);
    }
    return session;
  }

  unregister(session: Session): void {
    this.sessions.delete(session);
    for (const app of session.apps) {
      if (this.owners.get(app) === session) this.owners.delete(app);
    }
  }

  isActive(app: string): boolean {
    return this.owners.has(app);
  }

  /** Applications registered with subscribeAll=true: they see every channel and bridge. */
  subscribeAllApps(): string[] {
    const out: string[] = [];
    for (const [app, s] of this.owners) if (s.subscribeAll) out.push(app);
    return out;
  }

  /** Stamp and send an event to the WebSocket serving `app`; undefined when none does. */
  deliver(app: string, body: EventBody): SentEvent | undefined {
    const owner = this.owners.get(app);
    if (!owner) return undefined;
    return this.send(owner, app, body);
  }

  private send(session: Session, app: string, body: EventBody): SentEvent | undefined {
    // ari-client throws on an event type missing from events.json; never send one.
    if (!DECLARED_EVENTS.has(body.type)) throw new Error(`simulator bug: undeclared event type ${body.type}`);
    const event = { ...body, asterisk_id: this.asteriskId, application: app } as AriEvent;
    if (session.ws.readyState !== session.ws.OPEN) return undefined;
    const frame = JSON.stringify(event);
    if (this.eventDelayMs > 0) {
      setTimeout(() => {
        if (session.ws.readyState === session.ws.OPEN) session.ws.send(frame);
      }, this.eventDelayMs);
    } else {
      session.ws.send(frame);
    }
    const sent = { application: app, event };
    this.onSent(sent);
    return sent;
  }

  openCount(): number {
    let n = 0;
    for (const s of this.sessions) if (s.ws.readyState === s.ws.OPEN) n++;
    return n;
  }

  /** Abruptly cut every event WebSocket (no close frame), as a network failure would. */
  dropAll(): number {
    return this.drop([...this.sessions]);
  }

  /** Abruptly cut the WebSockets that serve `app` (as a killed agent's socket closes). */
  dropApp(app: string): number {
    return this.drop([...this.sessions].filter((s) => s.apps.includes(app)));
  }

  private drop(sessions: Session[]): number {
    for (const s of sessions) {
      s.ws.terminate();
      this.unregister(s);
    }
    return sessions.length;
  }
}
