import type { Connection, Event } from 'modesl';
import type { Logger } from '../../log/logger';
import type { CallScreener } from '../../screening/screener';
import type { FreeSwitchSettings } from '../settings';
import { factsFromChannel } from './channel-facts';
import { EslCall } from './esl-call';
import { routeToken } from './esl-text';

export interface ChannelDeps {
  readonly screener: CallScreener;
  readonly logger: Logger;
  readonly settings: FreeSwitchSettings;
}

/**
 * Screens one channel whose data has arrived (outbound `connect` reply or inbound
 * CHANNEL_PARK): builds its call control, follows its hangup and bridge events, and
 * cleans every per-channel listener up when the screening ends.
 */
export function screenChannel(
  conn: Connection,
  channel: Event,
  mode: 'outbound' | 'inbound',
  deps: ChannelDeps,
  parked: Promise<void> | null = null,
): { call: EslCall; done: Promise<void> } {
  const header = (name: string) => channel.getHeader(name) ?? undefined;
  const uuid = header('Unique-ID') ?? '';
  const facts = factsFromChannel(header, deps.settings);
  const destination = routeToken(header('Caller-Destination-Number'));
  const context = routeToken(header('Caller-Context'));
  const call = new EslCall(conn, uuid, {
    mode,
    settings: deps.settings,
    route: destination && context ? { destination, context } : null,
    didMailbox: destination && /^\+?\d+$/.test(destination) ? destination.replace('+', '') : null,
    callerName: facts.callerName,
    parked: /(^|\s)async(\s|$)/.test(header('variable_current_application_data') ?? '') ? parked : null,
  });
  const hangup = `esl::event::CHANNEL_HANGUP::${uuid}`;
  const bridge = `esl::event::CHANNEL_BRIDGE::${uuid}`;
  const onHangup = (event: Event) => call.noteHangup(event.getHeader('Hangup-Cause'));
  const onBridge = () => call.noteBridged();
  conn.on(hangup, onHangup);
  conn.on(bridge, onBridge);

  const done = deps.screener
    .screen(call, facts, 'freeswitch', uuid)
    .then(
      () => undefined,
      (error: unknown) => deps.logger.error({ err: error, channel: uuid }, 'screening failed'),
    )
    .finally(() => {
      conn.removeListener(hangup, onHangup);
      conn.removeListener(bridge, onBridge);
      call.gone('screening over');
    });
  return { call, done };
}
