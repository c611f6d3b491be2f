// The least an outbound event-socket agent can do, in its own process: take each call and
// hand it straight back. The benchmark's baseline for what modesl and loopback cost.
import { createServer } from 'node:net';
import { Server } from 'modesl';
import type { Connection } from 'modesl';

const port = Number(process.argv[2]);
const net = createServer();
net.listen(port, '127.0.0.1', () => {
  // modesl reads the listening address when it is built.
  const esl = new Server({ server: net, myevents: true });
  esl.on('connection::open', (conn: Connection) => {
    conn.socket?.setNoDelay(true);
    conn.on('error', () => undefined);
  });
  esl.on('connection::ready', (conn: Connection) => conn.disconnect());
});
