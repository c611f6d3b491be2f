// One event-socket connection, inbound (client connected to us) or outbound
// (we connected to the agent for a call). Command handling follows
// mod_event_socket's parse_command, including its order of prefix checks,
// its reply texts, and which replies an outbound socket never sees.

import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { SimChannel } from './channel';
import type { CommandKind } from './types';
import { Subscription, type EventFactory, type SimEvent } from './events';
import {
  CommandParser,
  frameApiResponse,
  frameAuthRequest,
  frameCommandReply,
  frameDisconnectNotice,
  frameEvent,
  frameLingerNotice,
  getHeader,
  serializeEventPlain,
  type Command,
  type Header,
} from './wire';

export interface SessionHost {
  readonly password: string;
  readonly events: EventFactory;
  readonly timeScale: number;
  findCall(uuid: string): SimChannel | undefined;
  /** Runs an API command; undefined when the command does not exist. */
  runApi(command: string, args: string, from: SimChannel | undefined): string | undefined;
  publish(ev: SimEvent, ch?: SimChannel): void;
  sessionClosed(s: EslSession): void;
  reportError(err: unknown): void;
  /** Every command any session received, for sim-wide assertions. */
  noteCommand(s: EslSession, cmd: Command): void;
}

export interface OutboundOptions {
  /** `socket ... async`: the channel parks and sendmsg is queued (default true). */
  async: boolean;
  /** `socket ... full`: api/bgapi/event/linger... allowed (default true). */
  full: boolean;
  /** ms FreeSWITCH waits for the first command (real: about 24 s). */
  firstCommandTimeoutMs: number;
}

const LOG_LEVELS: Record<string, number> = {
  console: 0, alert: 1, crit: 2, err: 3, error: 3, warning: 4, notice: 5, info: 6, debug: 7,
};

let nextId = 1;

interface DispatchResult {
  kind: CommandKind;
  reply?: string;
  extra?: Header[];
  /** Runs after the reply was written. */
  after?: () => void;
  /** The command was already logged on the call(s). */
  recorded?: boolean;
}

export class EslSession {
  readonly id = nextId++;
  readonly sub = new Subscription();
  readonly received: Command[] = [];
  private readonly parser = new CommandParser();
  private authed: boolean;
  private closed = false;
  private inbox: Promise<void> = Promise.resolve();
  /** Outbound sync mode: events wait while the listener thread runs an application. */
  private held: Buffer[] | undefined;

  // outbound state
  private connected = false;
  private firstCommand = true;
  private lingerSeconds: number | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly host: SessionHost,
    readonly socket: Socket,
    readonly kind: 'inbound' | 'outbound',
    readonly channel?: SimChannel,
    private readonly out?: OutboundOptions,
  ) {
    this.authed = kind === 'outbound';
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
    if (kind === 'inbound') {
      this.write(frameAuthRequest());
    } else if (channel && out) {
      channel.holdUntilParked = out.async;
      channel.socketHeld = true;
      channel.onBeforeReport = () => this.channelLeft();
      channel.onReported = () => this.channelReported();
      this.connectTimer = setTimeout(() => this.close('no-connect-timeout'), out.firstCommandTimeoutMs);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---------------------------------------------------------------- I/O

  private write(buf: Buffer): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    if (this.held) {
      this.held.push(buf);
      return;
    }
    this.socket.write(buf);
  }

  /** Called by the simulator for every event; writes it if this listener wants it. */
  deliver(ev: SimEvent): void {
    if (this.closed || !this.sub.wants(ev)) return;
    this.write(frameEvent(this.sub.format, ev.headers, ev.body));
  }

  private reply(text: string, extra: Header[] = []): void {
    this.write(frameCommandReply(text, extra));
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let cmds: Command[];
    try {
      cmds = this.parser.push(chunk);
    } catch {
      cmds = [];
      this.parser.failed = 'parser error';
    }
    for (const cmd of cmds) {
      this.inbox = this.inbox.then(() => this.handle(cmd)).catch((err: unknown) => this.host.reportError(err));
    }
    if (this.parser.failed) this.inbox = this.inbox.then(() => this.close('protocol-error'));
  }

  private onClose(): void {
    const wasClosed = this.closed;
    this.closed = true;
    this.clearTimers();
    if (!wasClosed) this.afterSocketGone('agent-closed');
    this.host.sessionClosed(this);
  }

  private clearTimers(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.lingerTimer = undefined;
    this.connectTimer = undefined;
  }

  /** End the session the way listener_run does: goodbye notice, then close. */
  close(reason: string, message?: string): void {
    if (this.closed) return;
    this.held = undefined;
    if (!this.socket.destroyed && this.socket.writable) {
      this.socket.write(frameDisconnectNotice(this.channel?.uuid, message));
    }
    this.closed = true;
    this.clearTimers();
    // FreeSWITCH shuts the socket down both ways once the notice is out.
    this.socket.end(() => this.socket.destroy());
    this.afterSocketGone(reason);
  }

  /** Drop the TCP connection without a goodbye (network failure, switch restart). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.socket.destroy();
    this.afterSocketGone('dropped');
  }

  /** What the call does once its outbound socket is gone. */
  private afterSocketGone(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    const ch = this.channel;
    if (this.kind !== 'outbound' || !ch) return;
    ch.socketHeld = false;
    if (ch.isDown) {
      ch.destroy();
      return;
    }
    if (this.out?.async === false) {
      ch.continueDialplan(reason);
    } else if (ch.isParked) {
      ch.continueDialplan(reason);
    } else {
      // The socket application never got to park: the channel stays stuck.
      ch.strand(reason);
    }
  }

  // ---------------------------------------------------------------- outbound channel hooks

  /** The channel hung up and left the socket application. */
  private channelLeft(): void {
    if (this.closed || this.lingerSeconds !== undefined) return;
    this.close('hangup');
  }

  /** CHANNEL_HANGUP_COMPLETE went out: a lingering socket gets its notice now. */
  private channelReported(): void {
    const ch = this.channel;
    if (this.closed || this.lingerSeconds === undefined || !ch) return;
    this.write(frameLingerNotice(ch.uuid, ch.channelName, this.lingerSeconds));
    if (this.lingerSeconds >= 0) {
      const ms = Math.round(this.lingerSeconds * 1000 * this.host.timeScale);
      this.lingerTimer = setTimeout(() => this.close('linger-timeout'), ms);
    }
  }

  // ---------------------------------------------------------------- commands

  private async handle(cmd: Command): Promise<void> {
    if (this.closed) return;
    this.received.push(cmd);
    this.host.noteCommand(this, cmd);
    const suppress = this.kind === 'outbound' && this.firstCommand;
    this.firstCommand = false;
    if (this.connectTimer) {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
    const result = await this.dispatch(cmd);
    if (result === undefined) return;
    const { kind, reply, extra } = result;
    if (!result.recorded) this.record(cmd, kind, reply);
    // listener_run never sends the reply to an outbound socket's first command (only connect answers).
    if (reply !== undefined && !suppress) this.reply(reply, extra);
    if (result.after) result.after();
  }

  private record(cmd: Command, kind: CommandKind, reply?: string, extra: Partial<Parameters<SimChannel['recordCommand']>[0]> = {}): void {
    const ch = this.channel;
    if (!ch) return;
    ch.recordCommand({ raw: cmd.raw, kind, ...(reply !== undefined ? { reply } : {}), ...extra });
  }

  private async dispatch(
    cmd: Command,
  ): Promise<DispatchResult | undefined> {
    const line = cmd.command;
    const lower = line.toLowerCase();
    const starts = (p: string): boolean => lower.startsWith(p);

    if (starts('exit') || starts('...')) {
      return { kind: 'exit', reply: '+OK bye', after: () => this.close('exit') };
    }

    if (!this.authed) {
      if (starts('auth ')) {
        if (line.slice(5) === this.host.password) {
          this.authed = true;
          return { kind: 'auth', reply: '+OK accepted' };
        }
        return { kind: 'auth', reply: '-ERR invalid', after: () => this.close('auth-failed') };
      }
      if (starts('userauth ')) return { kind: 'auth', reply: '-ERR invalid', after: () => this.close('auth-failed') };
      return { kind: 'unknown', reply: '-ERR command not found' };
    }

    if (starts('filter ')) return { kind: 'filter', reply: this.filter(line.slice(7)) };

    const ch = this.channel;
    if (ch && starts('resume')) {
      ch.setVar('socket_resume', 'true');
      return { kind: 'resume', reply: '+OK' };
    }

    if (ch || starts('myevents ')) {
      if (ch && starts('connect')) {
        this.connect();
        this.record(cmd, 'connect');
        return undefined;
      }
      if (ch && starts('getvar')) {
        const sp = line.indexOf(' ');
        const val = sp >= 0 ? (ch.getVar(line.slice(sp + 1)) ?? '') : '';
        return { kind: 'getvar', reply: val };
      }
      if (starts('myevents')) return { kind: 'myevents', reply: this.myevents(line) };
    }

    if (starts('divert_events')) {
      if (!ch) return { kind: 'divert_events', reply: '-ERR not controlling a session.' };
      const v = line.slice(13).trim();
      if (!v) return { kind: 'divert_events', reply: '-ERR missing value.' };
      return { kind: 'divert_events', reply: v.toLowerCase() === 'on' ? '+OK events diverted' : '+OK events not diverted' };
    }

    if (starts('sendmsg')) return this.sendmsg(cmd);

    if (this.kind === 'outbound' && this.out && !this.out.full) {
      return { kind: 'unknown', reply: '-ERR command not found' };
    }

    if (starts('sendevent')) {
      const name = line.slice(9).trim() || 'CUSTOM';
      const uuid = randomUUID();
      const headers: Header[] = [...this.host.events.base(name.toUpperCase(), getHeader(cmd.headers, 'Event-Subclass')), ...cmd.headers];
      this.host.publish({ name: name.toUpperCase(), headers, ...(cmd.body ? { body: cmd.body } : {}) });
      return { kind: 'sendevent', reply: `+OK ${uuid}` };
    }
    if (starts('api ')) {
      this.api(cmd, line.slice(4));
      return undefined;
    }
    if (starts('bgapi ')) return this.bgapi(cmd, line.slice(6));
    if (starts('log')) {
      const level = line.slice(4).trim() || 'debug';
      const num = LOG_LEVELS[level.toLowerCase()] ?? (/^\d$/.test(level) ? Number(level) : undefined);
      return { kind: 'log', reply: num === undefined ? '-ERR invalid log level' : `+OK log level ${level} [${num}]` };
    }
    if (starts('linger')) {
      if (!ch) return { kind: 'linger', reply: '-ERR not controlling a session' };
      const arg = line.slice(6);
      if (arg.startsWith(' ') && arg.length > 1) {
        const secs = Number.parseInt(arg.slice(1), 10) || 0;
        this.lingerSeconds = secs;
        return { kind: 'linger', reply: `+OK will linger ${secs} seconds` };
      }
      this.lingerSeconds = -1;
      return { kind: 'linger', reply: '+OK will linger' };
    }
    if (starts('nolinger')) {
      if (!ch) return { kind: 'nolinger', reply: '-ERR not controlling a session' };
      this.lingerSeconds = undefined;
      return { kind: 'nolinger', reply: '+OK will not linger' };
    }
    if (starts('nolog')) return { kind: 'nolog', reply: '-ERR not loging' };
    if (starts('event')) {
      const sp = line.indexOf(' ', 5);
      const words = sp >= 0 ? line.slice(sp + 1).split(' ').filter((w) => w !== '') : [];
      return { kind: 'event', reply: this.sub.subscribe(words) };
    }
    if (starts('nixevent')) {
      const sp = line.indexOf(' ', 5);
      const words = sp >= 0 ? line.slice(sp + 1).split(' ').filter((w) => w !== '') : [];
      return { kind: 'nixevent', reply: this.sub.nix(words) };
    }
    if (starts('noevents')) return { kind: 'noevents', reply: this.sub.clear() };
    return { kind: 'unknown', reply: '-ERR command not found' };
  }

  private filter(rest: string): string {
    let text = rest.replace(/^ +/, '');
    const sp = text.indexOf(' ');
    let name = sp >= 0 ? text.slice(0, sp) : text;
    let value: string | undefined = sp >= 0 ? text.slice(sp + 1) : undefined;
    if (name.toLowerCase() === 'delete' && value !== undefined) {
      text = value;
      const sp2 = text.indexOf(' ');
      name = sp2 >= 0 ? text.slice(0, sp2) : text;
      value = sp2 >= 0 ? text.slice(sp2 + 1) : undefined;
      if (name.toLowerCase() === 'all') this.sub.filters = [];
      else {
        this.sub.filters = this.sub.filters.filter(
          ([k, v]) => !(k.toLowerCase() === name.toLowerCase() && (value === undefined || v === value)),
        );
      }
      return `+OK filter deleted. [${name}][${value ?? ''}]`;
    }
    if (value === undefined) return '-ERR invalid syntax';
    if (name.toLowerCase() === 'add') {
      const sp2 = value.indexOf(' ');
      name = sp2 >= 0 ? value.slice(0, sp2) : value;
      value = sp2 >= 0 ? value.slice(sp2 + 1) : '';
    }
    this.sub.filters.push([name, value]);
    return `+OK filter added. [${name}]=[${value}]`;
  }

  private myevents(line: string): string {
    if (this.sub.myevents) return '-ERR aready enabled.';
    if (this.channel) {
      this.sub.enableMyEvents(this.channel.uuid);
    } else {
      const words = line.slice(9).trim().split(' ').filter(Boolean);
      const target = words[0] ?? '';
      const found = this.host.findCall(target);
      if (!found && words.length > 1) return '-ERR invalid uuid';
      this.sub.enableMyEvents(found?.uuid);
    }
    if (/xml/i.test(line)) this.sub.format = 'xml';
    if (/json/i.test(line)) this.sub.format = 'json';
    return '+OK Events Enabled';
  }

  /** connect: the CHANNEL_DATA block (no Content-Length), then the socket app parks the channel. */
  private connect(): void {
    const ch = this.channel;
    if (!ch || !this.out) return;
    const headers = ch.channelDataHeaders(this.out.async ? 'async' : 'static', this.out.full ? 'full' : 'single-channel');
    this.write(Buffer.from(serializeEventPlain(headers), 'utf8'));
    if (this.connected) return;
    this.connected = true;
    if (this.out.async) {
      const delay = ch.spec.parkDelayMs ?? 1;
      ch.later(delay, () => {
        if (ch.isDown) return;
        ch.park();
        if (this.ended) ch.strand(ch.reason ?? 'closed-before-park');
      });
    }
  }

  private async sendmsg(cmd: Command): Promise<DispatchResult> {
    let uuid: string | undefined = cmd.command.slice(7).trim() || undefined;
    if (!uuid) uuid = getHeader(cmd.headers, 'session-id');
    const own = this.channel;
    const target = !uuid || (own && uuid === own.uuid) ? own : this.host.findCall(uuid);
    const callCommand = getHeader(cmd.headers, 'call-command');
    let app = getHeader(cmd.headers, 'execute-app-name');
    let arg = getHeader(cmd.headers, 'execute-app-arg') ?? '';
    if (!arg && cmd.body !== undefined && (getHeader(cmd.headers, 'content-type') ?? '').toLowerCase() === 'text/plain') {
      arg = cmd.body;
    }
    const eventUuid = getHeader(cmd.headers, 'Event-UUID');
    const loops = Number.parseInt(getHeader(cmd.headers, 'loops') ?? '1', 10);
    const extra = {
      ...(callCommand ? { callCommand } : {}),
      ...(app ? { app } : {}),
      ...(app ? { arg } : {}),
      ...(uuid ? { uuid } : {}),
      ...(eventUuid ? { eventUuid } : {}),
    };
    if (!target || (target !== own && target.isDown && target.outcome)) {
      const reply = `-ERR invalid session id [${uuid ?? ''}]`;
      if (target !== own) target?.recordCommand({ raw: cmd.raw, kind: 'sendmsg', reply, ...extra });
      this.record(cmd, 'sendmsg', reply, extra);
      return { kind: 'sendmsg', reply, recorded: true };
    }
    if (target !== own) target.recordCommand({ raw: cmd.raw, kind: 'sendmsg', reply: '+OK', ...extra });
    else this.record(cmd, 'sendmsg', '+OK', extra);
    const cc = (callCommand ?? '').toLowerCase();
    let work: Promise<void> = Promise.resolve();
    if (cc === 'execute' && app) {
      app = app.trim();
      work = target.execute({ app, arg, ...(eventUuid ? { eventUuid } : {}), loops });
    } else if (cc === 'hangup') {
      target.hangup(getHeader(cmd.headers, 'hangup-cause') ?? 'NORMAL_CLEARING');
    }
    // A static (non-async) outbound socket runs the application in the listener thread:
    // the +OK comes after it, and its events only after the +OK.
    if (target === own && this.out && !this.out.async && !isTrueHeader(getHeader(cmd.headers, 'async'))) {
      this.held = [];
      await work;
      const held = this.held ?? [];
      this.held = undefined;
      this.reply('+OK');
      for (const b of held) this.write(b);
      return { kind: 'sendmsg', recorded: true };
    }
    return { kind: 'sendmsg', reply: '+OK', recorded: true };
  }

  private api(cmd: Command, text: string): void {
    const sp = text.indexOf(' ');
    const name = sp >= 0 ? text.slice(0, sp) : text;
    const args = sp >= 0 ? text.slice(sp + 1) : '';
    const out = this.host.runApi(name, args, this.channel);
    let body = out ?? `-ERR ${name} Command not found!\n`;
    if (body === '') body = '-ERR no reply\n';
    this.noteApiOnCall(cmd, 'api', name, args, body);
    this.write(frameApiResponse(body));
  }

  private bgapi(cmd: Command, text: string): DispatchResult {
    const sp = text.indexOf(' ');
    const name = sp >= 0 ? text.slice(0, sp) : text;
    const args = sp >= 0 ? text.slice(sp + 1) : '';
    const job = getHeader(cmd.headers, 'job-uuid') ?? randomUUID();
    this.noteApiOnCall(cmd, 'bgapi', name, args, `+OK Job-UUID: ${job}`);
    return {
      kind: 'bgapi',
      recorded: true,
      reply: `+OK Job-UUID: ${job}`,
      extra: [['Job-UUID', job]],
      after: () =>
        setImmediate(() => {
          const out = this.host.runApi(name, args, this.channel);
          const body = out ?? `-ERR ${name} Command not found!\n`;
          const headers: Header[] = [
            ...this.host.events.base('BACKGROUND_JOB'),
            ['Job-UUID', job],
            ['Job-Command', name],
            ...(args ? ([['Job-Command-Arg', args]] as Header[]) : []),
          ];
          this.host.publish({ name: 'BACKGROUND_JOB', headers, body: body || 'Command returned no output!' });
        }),
    };
  }

  /** api/bgapi commands naming a call (uuid_* <uuid> ...) are logged on that call too. */
  private noteApiOnCall(cmd: Command, kind: 'api' | 'bgapi', name: string, args: string, reply: string): void {
    const first = args.split(' ')[0] ?? '';
    const target = this.host.findCall(first);
    const rec = { raw: cmd.raw, kind, command: name, args, reply } as const;
    if (target && target !== this.channel) target.recordCommand(rec);
    this.channel?.recordCommand(rec);
  }
}

function isTrueHeader(v: string | undefined): boolean {
  return v !== undefined && /^(true|yes|on|1|enabled|active|allow)$/i.test(v);
}
