import { createServer } from 'node:net';

/**
 * A port nothing listens on, for a server a test starts later. Picked below the kernel's
 * ephemeral range (32768 and up on Linux): a port from that range can be taken meanwhile as
 * the local end of any outgoing connection (at 200 calls/s a simulator opens hundreds), and
 * the server that meant to listen on it then fails with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
