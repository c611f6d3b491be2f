// The parts of modesl 1.2.1 callguard uses (the package ships no types).
declare module 'modesl' {
  import type { EventEmitter } from 'node:events';
  import type { Server as NetServer, Socket } from 'node:net';

  export class Event {
    constructor(headers?: Record<string, unknown>, body?: string);
    getHeader(name: string): string | undefined;
    getBody(): string | undefined;
    serialize(format?: string): string;
  }

  export class Connection extends EventEmitter {
    constructor(host: string, port: number, password: string, ready?: () => void);
    constructor(socket: Socket, ready?: () => void);
    socket: Socket | null;
    authed: boolean;
    getInfo(): Event;
    send(command: string, args?: Record<string, string>): void;
    sendRecv(command: string, callback?: (reply: Event) => void): void;
    api(command: string, args: string | string[], callback?: (reply: Event) => void): void;
    execute(app: string, arg: string, uuid: string, callback?: (complete: Event) => void): string;
    events(type: 'plain' | 'json' | 'xml', events: string | string[], callback?: (reply: Event) => void): void;
    filter(header: string, value: string, callback?: (reply: Event) => void): void;
    disconnect(): void;
  }

  export class Server extends EventEmitter {
    constructor(options: { server: NetServer; myevents?: boolean }, ready?: () => void);
    constructor(options: { port?: number; host?: string; myevents?: boolean }, ready?: () => void);
    server: NetServer;
    connections: Record<string, Connection>;
    close(callback?: () => void): void;
  }
}
