import type { E164 } from '../../engine/types';
import { fillTemplate } from '../driver';
import type { AsteriskSettings } from '../settings';

/**
 * The only dialplan strings the agent sends to Asterisk: where voicemail continues and
 * which endpoint a forward dials. Templates come from the operator; the values put in
 * them are checked here first, so nothing a caller signals can add to them.
 */

/** A mailbox named by a rule, or the number called: letters, digits, `. _ -`, an optional leading `+`. */
const MAILBOX = /^\+?[A-Za-z0-9_.-]{1,64}$/;
const E164_NUMBER = /^\+[1-9]\d{1,14}$/;

export class UnsafeDialplanValue extends Error {
  override readonly name = 'UnsafeDialplanValue';
  constructor(what: string, value: string) {
    super(`refusing to put ${what} ${JSON.stringify(value.slice(0, 40))} into the dialplan`);
  }
}

export interface DialplanLocation {
  readonly context: string;
  readonly extension: string;
  readonly priority: number;
}

export function voicemailLocation(settings: AsteriskSettings, box: string): DialplanLocation {
  if (!MAILBOX.test(box)) throw new UnsafeDialplanValue('mailbox', box);
  return {
    context: fillTemplate(settings.voicemailContext, { box }),
    extension: fillTemplate(settings.voicemailExtension, { box }),
    priority: 1,
  };
}

export function forwardEndpoint(settings: AsteriskSettings, number: E164): string {
  if (!E164_NUMBER.test(number)) throw new UnsafeDialplanValue('forward number', number);
  return fillTemplate(settings.forwardEndpoint, { number });
}
