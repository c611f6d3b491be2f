import type { CallLogBackend } from '../call-log-backend';
import type { LogRow } from '../call-log-queries';

/**
 * The newest call to a DID as an agent of a fleet sees it (its hook's block-last, the *32
 * feature code dialled seconds after the call): the fleet's newest in PostgreSQL, or this
 * agent's own newest from its local copy's log, which holds every call the agent logged
 * at once, also those still waiting in its queue for the shipper (PostgreSQL slow, away,
 * or the queue catching up). The same call in both is taken from PostgreSQL, whose id is
 * the one `callguard log` shows; one PostgreSQL does not have yet is named by its id in
 * the local copy.
 */
export class FleetLastCall implements Pick<CallLogBackend, 'lastTo'> {
  constructor(
    private readonly own: Pick<CallLogBackend, 'lastTo'>,
    private readonly fleet: Pick<CallLogBackend, 'lastTo'>,
  ) {}

  async lastTo(did: string): Promise<LogRow | undefined> {
    const [own, fleet] = await Promise.all([this.own.lastTo(did), this.fleet.lastTo(did)]);
    return own && (!fleet || own.at > fleet.at) ? own : fleet;
  }
}
