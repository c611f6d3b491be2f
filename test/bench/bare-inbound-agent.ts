// The least an inbound event-socket agent can do, in its own process: keep the heartbeat
// the shipped inbound dialplan checks, and send every call it parks straight back with one
// uuid_transfer. Its delay over the plain route is the floor for inbound mode: the parked
// channel notices the transfer on the next 20 ms turn of its park loop.
import { Connection } from 'modesl';
import type { Event } from 'modesl';

const [port, password] = [Number(process.argv[2]), process.argv[3] ?? 'ClueCon'];
const conn = new Connection('127.0.0.1', port, password, () => {
  conn.socket?.setNoDelay(true);
  const beat = () => conn.api('global_setvar', `callguard_alive_until=${Math.floor(Date.now() / 1000) + 4}`);
  beat();
  setInterval(beat, 1000);
  conn.filter('variable_callguard_screen', 'true', () => conn.events('plain', ['CHANNEL_PARK']));
});
conn.on('error', () => process.exit(1));
conn.on('esl::event::CHANNEL_PARK::*', (event: Event) => {
  conn.api('uuid_transfer', `${event.getHeader('Unique-ID')} ${event.getHeader('Caller-Destination-Number')} XML ${event.getHeader('Caller-Context')}`);
});
