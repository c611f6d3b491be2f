// An inbound call routed by XML dialplan, the way FreeSWITCH runs one: hunt the context,
// run the actions in order; `park` holds the call until something transfers it (the
// agent's uuid_transfer, a scheduled transfer) and the hunt starts again at the new
// destination. The first action that is not one of the screening steps below counts as
// the normal route, and the call's routing ends there.

import type { SimChannel } from './channel';
import type { TransferVia } from './types';
import { hunt, type XmlNode } from './xml-dialplan';

/** Applications the callguard snippets run; anything else is the operator's normal route. */
const SCREENING_STEPS = new Set(['set', 'sched_transfer', 'park', 'log']);
/** A transfer loop this long means the dialplan never lets go of the call. */
const MAX_HUNTS = 10;

export type RouteEnding = 'normal-route' | 'hungup' | 'bridged' | 'voicemail' | 'no-route' | 'reparked' | 'looping' | 'parked';

export interface RouteResult {
  readonly ending: RouteEnding;
  /** Milliseconds from the call's arrival to its ending. */
  readonly atMs: number;
  /** Each hunt's extensions, in order. */
  readonly hunts: string[][];
  /** The normal-route action reached, as `application data` (expanded). */
  readonly normalRoute?: string;
  /** How the call last left park, if it did. */
  readonly leftParkVia?: TransferVia;
}

export async function routeCall(ch: SimChannel, context: XmlNode): Promise<RouteResult> {
  const hunts: string[][] = [];
  let parkedOnce = false;
  let leftParkVia: TransferVia | undefined;
  const end = (ending: RouteEnding, normalRoute?: string): RouteResult => ({
    ending,
    atMs: ch.elapsed(),
    hunts,
    ...(normalRoute !== undefined ? { normalRoute } : {}),
    ...(leftParkVia ? { leftParkVia } : {}),
  });
  for (let round = 0; round < MAX_HUNTS; round++) {
    const found = hunt(context, ch);
    hunts.push(found.extensions);
    if (!found.actions.length) return end('no-route');
    for (const action of found.actions) {
      if (ch.isDown) return end('hungup');
      if (!SCREENING_STEPS.has(action.application)) return end('normal-route', `${action.application} ${ch.expand(action.data)}`.trim());
      if (action.application !== 'park') {
        await ch.runDialplanApp(action.application, action.data);
        continue;
      }
      // One SimChannel models one stay in park; a second park would hold the call for good.
      if (parkedOnce) return end('reparked');
      parkedOnce = true;
      ch.enterOuter('park', '');
      ch.park();
      const result = await ch.done;
      if (result.outcome !== 'transferred') return end(result.outcome === 'parked' ? 'parked' : result.outcome === 'bridged' || result.outcome === 'voicemail' ? result.outcome : 'hungup');
      leftParkVia = result.transfer?.via;
      break;
    }
  }
  return end('looping');
}
