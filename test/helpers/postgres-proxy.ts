/**
 * A TCP proxy in front of a PostgreSQL server, for outage tests: it can refuse
 * connections and cut those open (closed), or accept them and pass nothing either way
 * (silenced). Framework-free.
 */
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

/** Between a client and PostgreSQL: can refuse connections (closed), or accept and then go silent (paused). */
export class PostgresProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private silent = false;
  private readonly held: (() => void)[] = [];
  port = 0;

  constructor(private readonly target: { host?: string; port?: number; path?: string }) {}

  async open(): Promise<void> {
    const server = createServer((client) => this.connect(client));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private connect(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const join = () => {
      const upstream = this.target.path ? createConnection(this.target.path) : createConnection(this.target.port ?? 5432, this.target.host);
      this.sockets.add(upstream);
      upstream.on('close', () => (this.sockets.delete(upstream), client.destroy()));
      upstream.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      client.on('data', (data) => upstream.write(data));
      upstream.on('data', (data) => client.write(data));
      if (!this.silent) client.resume();
    };
    if (this.silent) this.held.push(join);
    else join();
  }

  /** Connection refused, and every open connection cut. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** Connections accepted and kept open, but nothing passes either way. */
  silence(): void {
    this.silent = true;
    for (const socket of this.sockets) socket.pause();
  }

  speak(): void {
    this.silent = false;
    for (const socket of this.sockets) socket.resume();
    for (const join of this.held.splice(0)) join();
  }
}

/** Opens a proxy to the server of `url`; returns it and the same URL through it. The caller closes it. */
export async function proxyPostgres(url: string): Promise<{ proxy: PostgresProxy; url: string }> {
  const parsed = new URL(url);
  const host = parsed.searchParams.get('host') ?? decodeURIComponent(parsed.hostname);
  const port = Number(parsed.port || 5432);
  const proxy = new PostgresProxy(host.startsWith('/') ? { path: `${host}/.s.PGSQL.${port}` } : { host, port });
  await proxy.open();
  parsed.searchParams.delete('host');
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return { proxy, url: parsed.toString() };
}
