import type { Outcome } from '../../actions/outcome';
import type { CallEntry, CallLog, CallSink } from '../call-log';
import type { LogQueue } from './log-queue';
import { callRowOf, outcomeUpdateOf } from './log-operations';

/**
 * The call log of an agent in a fleet: every row goes to the local queue that the
 * shipper delivers to PostgreSQL (the fleet's log), and also to the local copy's own
 * log, which the risk score's velocity and challenge history read by index, beside the
 * other agents' calls followed from PostgreSQL (fleet-history.ts): local reads, never a
 * network round trip.
 */
export class FleetCallLog implements CallSink {
  constructor(
    private readonly queue: LogQueue,
    private readonly local: CallLog,
  ) {}

  record(entry: CallEntry): void {
    this.local.record(entry);
    this.queue.enqueueCall(callRowOf(entry));
  }

  finish(uid: string, outcome: Outcome, at = Date.now()): void {
    this.local.finish(uid, outcome, at);
    this.queue.enqueueOutcome(outcomeUpdateOf(uid, outcome, at));
  }
}
