// Inbound mode: the agent connects to the simulator's event socket (like :8021).

import net from 'node:net';
import { EslSession, type SessionHost } from './session';

export class InboundServer {
  private server: net.Server | undefined;
  private boundPort = 0;

  constructor(
    private readonly host: SessionHost,
    private readonly onSession: (s: EslSession) => void,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get listening(): boolean {
    return !!this.server?.listening;
  }

  /** Listen on host:port (0 = ephemeral). Re-listening reuses the previous port. */
  listen(address: string, port: number): Promise<number> {
    if (this.server?.listening) return Promise.resolve(this.boundPort);
    const server = net.createServer((socket) => {
      this.onSession(new EslSession(this.host, socket, 'inbound'));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port || this.boundPort, address, () => {
        server.off('error', reject);
        const addr = server.address();
        this.boundPort = typeof addr === 'object' && addr ? addr.port : 0;
        resolve(this.boundPort);
      });
    });
  }

  /** Stop accepting connections; existing sessions are not touched. */
  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
