import type { Logger } from '../../log/logger';
import type { AsteriskSettings } from '../settings';
import type { EventRouter } from './event-router';
import type { AriRest } from './rest';
import type { TrackedTimers } from './tracked-timers';

/** What the control of one call (and its forward leg) shares with the driver. */
export interface CallDeps {
  readonly rest: AriRest;
  readonly router: EventRouter;
  readonly timers: TrackedTimers;
  readonly settings: AsteriskSettings;
  /** Our Stasis application: forward legs are originated into it. */
  readonly app: string;
  readonly logger: Logger;
}
