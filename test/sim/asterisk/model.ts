// Channel / bridge / playback model of the simulator (the engine REST handlers drive).
//
// Behaviour follows Asterisk 22 (BEHAVIOUR.md and res/stasis): a channel in Stasis runs
// the application's commands one at a time, so a playback holds up later commands
// (answer, continue, ...) until it ends; a hangup is not a command and cuts through.
import { randomUUID } from 'node:crypto';
import { causeText, dialStatusForCause, SOFTHANGUP_EXPLICIT } from './causes';
import {
  SimCall,
  type ChannelDirection,
  type OriginateInfo,
  type OriginateOutcome,
  type PlaceCallOptions,
  type PlaybackRecord,
} from './call';
import { runDialplan, type Dialplan, type DialplanHost, type DialplanStop } from './dialplan';
import { channelType, evaluateChannelvars, type AsteriskLogLine, type StirShakenResult } from './functions';
import type { EventHub } from './hub';
import {
  asteriskTimestamp,
  type ApplicationJson,
  type BridgeJson,
  type CallerIdJson,
  type ChannelJson,
  type ChannelState,
  type DialplanCepJson,
  type EventBody,
  type PlaybackJson,
  type PlaybackState,
} from './shapes';

export interface EngineOptions {
  mediaDurationMs: (mediaUri: string) => number;
  /** Media URIs that do not exist (sound: ones then fail, others are skipped). */
  missingMedia: Set<string>;
  /** A continued channel hangs up in the dialplan after this long; null = stays until the test hangs it up. */
  continuedHangupAfterMs: number | null;
  dtmfGapMs: number;
  defaultApp: string;
  /** ari.conf `channelvars`, as Asterisk splits them; null: none configured (snapshots carry no `channelvars`). */
  channelvars: string[] | null;
  /** chan_pjsip and res_pjsip_header_funcs loaded. */
  pjsipLoaded: boolean;
  /** res_stir_shaken loaded. */
  stirShakenLoaded?: boolean;
  /** Dialplan that inbound calls run before Stasis() and after continueInDialplan; null: none simulated. */
  dialplan: Dialplan | null;
}

/** Signalling peer of the simulated trunk, for PJSIP channels. */
export const SIM_TRUNK_ADDRESS = '192.0.2.10:5060';

interface Command {
  /** Runs the command; calls `done` when the channel may run the next one. */
  run: (done: () => void) => void;
  /** Called instead of `run` when the channel leaves Stasis first. */
  flushed?: () => void;
}

export class SimChannel {
  state: ChannelState;
  caller: CallerIdJson;
  connected: CallerIdJson = { name: '', number: '' };
  dialplan: DialplanCepJson;
  readonly creationtime = new Date();
  readonly vars = new Map<string, string>();
  presentation = 'allowed_not_screened';
  stasisApp: string | null = null;
  readonly explicitApps = new Set<string>();
  bridge: SimBridge | null = null;
  hangupPending = false;
  destroyed = false;
  /** The other half of a Local channel. */
  peer: SimChannel | null = null;
  readonly commands: Command[] = [];
  commandRunning = false;
  currentPlayback: SimPlayback | null = null;
  outboundTimers: NodeJS.Timeout[] = [];
  /** Dial string of an originated channel (for Dial events). */
  dialstring = '';
  /** Headers of the INVITE an inbound PJSIP channel came with; null for every other channel. */
  sipHeaders: Record<string, string> | null = null;
  /** Signalling peer of a PJSIP channel (CHANNEL(pjsip,remote_addr)). */
  remoteAddr: string | null = null;
  /** res_stir_shaken's results (STIR_SHAKEN()) for an inbound PJSIP call. */
  stirShaken: StirShakenResult[] = [];
  /** ari.conf channelvars, evaluated for this channel whenever a snapshot is made. */
  channelvarsOf: ((ch: SimChannel) => Record<string, string> | undefined) | null = null;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly protocolId: string,
    readonly direction: ChannelDirection,
    readonly call: SimCall,
    state: ChannelState,
    caller: CallerIdJson,
    dialplan: DialplanCepJson,
  ) {
    this.state = state;
    this.caller = caller;
    this.dialplan = dialplan;
  }

  toJson(): ChannelJson {
    const channelvars = this.channelvarsOf?.(this);
    return {
      ...(channelvars ? { channelvars } : {}),
      id: this.id,
      name: this.name,
      state: this.state,
      protocol_id: this.protocolId,
      caller: { ...this.caller },
      connected: { ...this.connected },
      accountcode: '',
      dialplan: { ...this.dialplan },
      creationtime: asteriskTimestamp(this.creationtime),
      language: 'en',
    };
  }
}

export class SimBridge {
  readonly creationtime = new Date();
  readonly members: SimChannel[] = [];
  readonly explicitApps = new Set<string>();
  readonly vars = new Map<string, string>();

  constructor(
    readonly id: string,
    readonly name: string,
    readonly type: 'mixing' | 'holding',
  ) {}

  toJson(): BridgeJson {
    const json: BridgeJson = {
      id: this.id,
      technology: this.type === 'holding' ? 'holding_bridge' : this.members.length > 2 ? 'softmix' : 'simple_bridge',
      bridge_type: this.type,
      bridge_class: 'stasis',
      creator: 'Stasis',
      name: this.name,
      channels: this.members.map((c) => c.id),
      creationtime: asteriskTimestamp(this.creationtime),
      video_mode: 'talker',
    };
    if (this.vars.size > 0) json.bridgevars = Object.fromEntries(this.vars);
    return json;
  }
}

export class SimPlayback {
  state: PlaybackState = 'queued';
  index = 0;
  canceled = false;
  stopped = false;
  timer: NodeJS.Timeout | null = null;
  finishItem: ((ok: boolean) => void) | null = null;
  readonly record: PlaybackRecord;

  constructor(
    readonly id: string,
    readonly medias: string[],
    readonly language: string,
    readonly channel: SimChannel,
  ) {
    this.record = { id, media: [...medias], state: 'queued', stopped: false };
  }

  toJson(): PlaybackJson {
    const next = this.medias[this.index + 1];
    return {
      id: this.id,
      media_uri: this.medias[this.index] ?? '',
      ...(next !== undefined ? { next_media_uri: next } : {}),
      target_uri: `channel:${this.channel.id}`,
      language: this.language,
      state: this.state,
    };
  }
}

export class Engine {
  readonly channels = new Map<string, SimChannel>();
  readonly bridges = new Map<string, SimBridge>();
  readonly playbacks = new Map<string, SimPlayback>();
  readonly calls: SimCall[] = [];
  /** Global variables, as POST /asterisk/variable sets them (the simulated dialplan does not read them). */
  readonly globals = new Map<string, string>();
  originateHandler: (info: OriginateInfo) => OriginateOutcome = () => ({ answer: true, afterMs: 5, ring: true });
  /** What Asterisk would have written to its log (full), in order. */
  readonly asteriskLog: AsteriskLogLine[] = [];
  private readonly dialplanHost: DialplanHost;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly epoch = Math.floor(Date.now() / 1000);
  private idSeq = 0;
  private nameSeq = 0;
  private closed = false;

  constructor(
    readonly hub: EventHub,
    readonly opts: EngineOptions,
  ) {
    this.dialplanHost = {
      pjsipLoaded: opts.pjsipLoaded,
      stirShakenLoaded: opts.stirShakenLoaded ?? false,
      log: (line) => this.asteriskLog.push(line),
      setVariable: (ch, name, value) => {
        const channel = ch as SimChannel;
        if (name.includes('(')) {
          if (!this.writeVariable(channel, name, value)) throw new Error(`the simulator cannot write ${name}`);
          return;
        }
        channel.vars.set(name, value);
        // ast_channel_publish_varset: with channelvars configured, a new snapshot (which evaluates them).
        channel.channelvarsOf?.(channel);
      },
      position: (ch, at) => {
        const channel = ch as SimChannel;
        channel.dialplan = { context: at.context, exten: at.exten, priority: at.priority, app_name: at.app, app_data: at.data };
      },
    };
  }

  /** Gives a new channel its channelvars, as ari.conf lists them. */
  private withChannelvars(ch: SimChannel): SimChannel {
    const names = this.opts.channelvars;
    if (names) ch.channelvarsOf = (c) => evaluateChannelvars(this.dialplanHost, c, names);
    return ch;
  }

  /** Runs the simulated dialplan on a channel; records where it stopped on its call. */
  private runDialplanOn(ch: SimChannel, from: { context: string; exten: string; priority?: number; label?: string }): DialplanStop | null {
    const dialplan = this.opts.dialplan;
    if (!dialplan) return null;
    const stop = runDialplan(dialplan, this.dialplanHost, ch, from);
    if (ch.call.channel === ch) ch.call.dialplanStop = stop;
    return stop;
  }

  // ---- lookups -------------------------------------------------------------------

  newChannelId(): string {
    this.idSeq += 1;
    return `${this.epoch}.${this.idSeq}`;
  }

  private nextName(base: string): string {
    this.nameSeq += 1;
    return `${base}-${this.nameSeq.toString(16).padStart(8, '0')}`;
  }

  /** Like ast_channel_get_by_name: exact name or id, case-insensitive. */
  findByNameOrId(nameOrId: string): SimChannel | undefined {
    const exact = this.channels.get(nameOrId);
    if (exact) return exact;
    const lower = nameOrId.toLowerCase();
    for (const ch of this.channels.values()) {
      if (ch.id.toLowerCase() === lower || ch.name.toLowerCase() === lower) return ch;
    }
    return undefined;
  }

  /** A new id conflicts when it is a (case-insensitive) prefix of a live channel's id. */
  idConflicts(id: string): boolean {
    const lower = id.toLowerCase();
    for (const ch of this.channels.values()) if (ch.id.toLowerCase().startsWith(lower)) return true;
    return false;
  }

  appsOf(ch: SimChannel): Set<string> {
    const apps = new Set<string>(ch.explicitApps);
    if (ch.stasisApp) apps.add(ch.stasisApp);
    for (const a of this.hub.subscribeAllApps()) apps.add(a);
    return apps;
  }

  appsOfBridge(b: SimBridge): Set<string> {
    const apps = new Set<string>(b.explicitApps);
    for (const m of b.members) if (m.stasisApp) apps.add(m.stasisApp);
    for (const a of this.hub.subscribeAllApps()) apps.add(a);
    return apps;
  }

  appExists(app: string): boolean {
    if (this.hub.isActive(app)) return true;
    for (const ch of this.channels.values()) if (ch.stasisApp === app || ch.explicitApps.has(app)) return true;
    for (const b of this.bridges.values()) if (b.explicitApps.has(app)) return true;
    return false;
  }

  applicationJson(app: string): ApplicationJson {
    const channelIds: string[] = [];
    for (const ch of this.channels.values()) if (ch.stasisApp === app || ch.explicitApps.has(app)) channelIds.push(ch.id);
    const bridgeIds: string[] = [];
    for (const b of this.bridges.values()) if (this.appsOfBridge(b).has(app)) bridgeIds.push(b.id);
    return {
      name: app,
      channel_ids: channelIds,
      bridge_ids: bridgeIds,
      endpoint_ids: [],
      device_names: [],
      events_allowed: [],
      events_disallowed: [],
    };
  }

  // ---- plumbing ------------------------------------------------------------------

  later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  cancel(t: NodeJS.Timeout | null): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  private emit(apps: Iterable<string>, body: EventBody, calls: SimCall[]): void {
    for (const app of new Set(apps)) {
      const sent = this.hub.deliver(app, body);
      if (!sent) continue;
      for (const call of new Set(calls)) call.events.push(sent);
    }
  }

  private channelEvent(ch: SimChannel, body: EventBody, apps: Iterable<string> = this.appsOf(ch)): void {
    this.emit(apps, body, [ch.call]);
  }

  /** Queue a command on a channel in Stasis (runs in order, one at a time, after the current tick). */
  enqueue(ch: SimChannel, command: Command): void {
    ch.commands.push(command);
    setImmediate(() => this.pump(ch));
  }

  private pump(ch: SimChannel): void {
    if (ch.commandRunning || this.closed) return;
    const next = ch.commands.shift();
    if (!next) return;
    ch.commandRunning = true;
    let finished = false;
    next.run(() => {
      if (finished) return;
      finished = true;
      ch.commandRunning = false;
      setImmediate(() => this.pump(ch));
    });
  }

  private flushCommands(ch: SimChannel): void {
    const pending = ch.commands.splice(0);
    for (const c of pending) c.flushed?.();
  }

  // ---- inbound calls -------------------------------------------------------------

  placeCall(o: PlaceCallOptions): SimCall {
    if (this.closed) throw new Error('simulator is closed');
    let app = o.app ?? this.opts.defaultApp;
    let args = o.args ?? [];
    const id = o.channelId ?? this.newChannelId();
    if (this.idConflicts(id)) throw new Error(`channel id ${id} conflicts with a live channel`);
    const call = new SimCall(this, 'inbound');
    const endpoint = o.endpoint ?? 'PJSIP/trunk';
    const ch = new SimChannel(
      id,
      this.nextName(endpoint),
      `${randomUUID()}@127.0.0.1`,
      'inbound',
      call,
      'Ring',
      { name: o.callerName ?? '', number: o.callerNumber },
      { context: o.context ?? 'from-trunk', exten: o.exten, priority: o.priority ?? 1, app_name: 'Stasis', app_data: [app, ...args].join(',') },
    );
    call.channel = ch;
    this.withChannelvars(ch);
    if (channelType(ch.name) === 'PJSIP') {
      ch.remoteAddr = o.remoteAddr ?? SIM_TRUNK_ADDRESS;
      const host = ch.remoteAddr.replace(/:\d+$/, '');
      ch.sipHeaders = o.sipHeaders ?? {
        From: `<sip:${o.callerNumber || 'anonymous'}@${host}>;tag=${ch.id}`,
        To: `<sip:${o.exten}@${host}>`,
      };
      ch.stirShaken = [...(o.stirShaken ?? [])];
    } else if (o.sipHeaders || o.remoteAddr || o.stirShaken) {
      throw new Error(`a ${channelType(ch.name) || 'non-PJSIP'} channel has no SIP headers or signalling address`);
    }
    call.hangupPlan = { ...(o.callerHangup ?? {}) };
    if (o.presentation) ch.presentation = o.presentation;
    for (const [k, v] of Object.entries(o.variables ?? {})) this.writeVariable(ch, k, v);
    this.calls.push(call);

    if (this.opts.dialplan) {
      const stop = this.runDialplanOn(ch, { context: ch.dialplan.context, exten: o.exten, priority: o.priority ?? 1 });
      if (stop?.how !== 'stasis') throw new Error(`the simulated dialplan did not reach Stasis(): ${JSON.stringify(stop)}`);
      app = stop.app;
      args = stop.args;
    }

    this.channels.set(id, ch);
    if (!this.stasis(ch, app, args)) {
      this.channels.delete(id);
      call.finish('stasis_failed');
      return call;
    }
    const after = call.hangupPlan.afterMs;
    if (after !== undefined) this.later(after, () => this.remoteHangup(ch, 16));
    return call;
  }

  /**
   * Stasis(app) as app_stasis runs it: the channel enters the application when a WebSocket
   * serves it; else Stasis() returns at once with STASISSTATUS=FAILED and the dialplan goes
   * on, maybe into another Stasis() (a failover pair), and so on. True once the channel is
   * in an application; false when the dialplan run ended elsewhere.
   */
  private stasis(ch: SimChannel, app: string, args: string[]): boolean {
    for (let tries = 0; tries < 1000; tries++) {
      if (this.hub.isActive(app)) {
        this.enterStasis(ch, app, args);
        return true;
      }
      ch.vars.set('STASISSTATUS', 'FAILED');
      if (ch.call.channel === ch) ch.call.stasisStatus = 'FAILED';
      const next = this.runDialplanOn(ch, { context: ch.dialplan.context, exten: ch.dialplan.exten, priority: ch.dialplan.priority + 1 });
      if (next?.how !== 'stasis') return false;
      ({ app, args } = next);
    }
    throw new Error(`the simulated dialplan failed over through 1000 Stasis() without end at ${ch.dialplan.context},${ch.dialplan.exten}`);
  }

  private enterStasis(ch: SimChannel, app: string, args: string[]): void {
    ch.stasisApp = app;
    ch.dialplan = { ...ch.dialplan, app_name: 'Stasis', app_data: [app, ...args].join(',') };
    const call = ch.call;
    if (call.channel === ch) {
      call.enteredApps.push(app);
      call.continuedTo = undefined;
    }
    this.emit([app], { type: 'StasisStart', timestamp: asteriskTimestamp(), args: [...args], channel: ch.toJson() }, [call]);
  }

  /** StasisEnd; pending commands are dropped, as Asterisk flushes the control queue. */
  private leaveStasis(ch: SimChannel): void {
    const app = ch.stasisApp;
    if (!app) return;
    ch.stasisApp = null;
    this.flushCommands(ch);
    this.emit([app], { type: 'StasisEnd', timestamp: asteriskTimestamp(), channel: ch.toJson() }, [ch.call]);
  }

  // ---- channel operations (called by REST handlers) -------------------------------

  answer(ch: SimChannel): void {
    if (ch.state === 'Up') return;
    ch.state = 'Up';
    ch.call.answered = true;
    this.channelEvent(ch, { type: 'ChannelStateChange', timestamp: asteriskTimestamp(), channel: ch.toJson() });
    if (ch.call.hangupPlan.onAnswer && ch.call.channel === ch) this.remoteHangup(ch, 16);
  }

  setVariable(ch: SimChannel, variable: string, value: string | undefined): boolean {
    if (!this.writeVariable(ch, variable, value)) return false;
    ch.call.variablesSet[variable] = value;
    this.channelEvent(ch, { type: 'ChannelVarset', timestamp: asteriskTimestamp(), variable, value: value ?? '', channel: ch.toJson() });
    return true;
  }

  /** Sets a variable, or writes CALLERID()/CONNECTEDLINE() the way the dialplan function does. */
  writeVariable(ch: SimChannel, variable: string, value: string | undefined): boolean {
    const fn = /^([A-Za-z_]+)\((.*)\)$/.exec(variable);
    if (!fn) {
      if (value === undefined) ch.vars.delete(variable);
      else ch.vars.set(variable, value);
      return true;
    }
    const name = (fn[1] ?? '').toUpperCase();
    const field = (fn[2] ?? '').toLowerCase();
    if (value === undefined || (name !== 'CALLERID' && name !== 'CONNECTEDLINE')) return false;
    const party = name === 'CALLERID' ? ch.caller : ch.connected;
    let updated: CallerIdJson;
    if (field === 'name') updated = { ...party, name: value };
    else if (field === 'num' || field === 'number') updated = { ...party, number: value };
    else if (field === 'pres' && name === 'CALLERID') {
      ch.presentation = value;
      return true;
    } else return false;
    if (name === 'CALLERID') ch.caller = updated;
    else ch.connected = updated;
    return true;
  }

  /** Reads a variable or a supported function; undefined when unknown / unsupported. */
  readVariable(ch: SimChannel, variable: string): { ok: true; value: string } | { ok: false; kind: 'function' | 'variable' } {
    const fn = /^([A-Za-z_]+)\((.*)\)$/.exec(variable);
    if (fn) {
      const name = (fn[1] ?? '').toUpperCase();
      const arg = (fn[2] ?? '').toLowerCase();
      const cid = ch.caller;
      if (name === 'CALLERID') {
        const v: Record<string, string> = {
          name: cid.name,
          num: cid.number,
          number: cid.number,
          all: cid.name ? `"${cid.name}" <${cid.number}>` : `<${cid.number}>`,
          pres: ch.presentation,
        };
        const value = v[arg];
        if (value !== undefined) return { ok: true, value };
      } else if (name === 'CONNECTEDLINE' && (arg === 'name' || arg === 'num' || arg === 'number')) {
        return { ok: true, value: arg === 'name' ? ch.connected.name : ch.connected.number };
      } else if (name === 'CALLERPRES' && arg === '') {
        return { ok: true, value: ch.presentation };
      } else if (name === 'CHANNEL') {
        const v: Record<string, string> = { name: ch.name, uniqueid: ch.id, language: 'en', state: ch.state };
        const value = v[arg];
        if (value !== undefined) return { ok: true, value };
      }
      return { ok: false, kind: 'function' };
    }
    const builtin: Record<string, string> = {
      EXTEN: ch.dialplan.exten,
      CONTEXT: ch.dialplan.context,
      PRIORITY: String(ch.dialplan.priority),
      CHANNEL: ch.name,
      UNIQUEID: ch.id,
    };
    const v = ch.vars.get(variable) ?? builtin[variable];
    return v === undefined ? { ok: false, kind: 'variable' } : { ok: true, value: v };
  }

  /** The application leaves Stasis and the dialplan goes on (STASISSTATUS=SUCCESS). */
  continueInDialplan(ch: SimChannel, to: { context: string; extension: string; priority?: number; label?: string }): void {
    if (!ch.stasisApp || ch.destroyed) return;
    if (ch.bridge) this.leaveBridge(ch);
    ch.vars.set('STASISSTATUS', 'SUCCESS');
    ch.dialplan = { ...ch.dialplan, context: to.context, exten: to.extension, priority: to.priority ?? ch.dialplan.priority, app_name: '', app_data: '' };
    const call = ch.call;
    if (call.channel === ch) {
      call.continuedTo = to;
      call.stasisStatus = 'SUCCESS';
    }
    this.leaveStasis(ch);
    const stop = this.runDialplanOn(ch, { context: to.context, exten: to.extension, ...(to.label !== undefined ? { label: to.label } : { priority: to.priority ?? 1 }) });
    if (stop?.how === 'stasis' && this.stasis(ch, stop.app, stop.args)) return;
    if (call.channel === ch) call.finish('continued');
    const after = this.opts.continuedHangupAfterMs;
    if (after !== null) {
      this.later(after, () => {
        if (ch.destroyed) return;
        ch.hangupPending = true;
        this.teardown(ch, 16);
      });
    }
  }

  // ---- playback ------------------------------------------------------------------

  newPlayback(ch: SimChannel, medias: string[], language: string, id: string | undefined): SimPlayback {
    const pb = new SimPlayback(id || randomUUID(), medias, language, ch);
    this.playbacks.set(pb.id, pb);
    ch.call.playbackRecords.push(pb.record);
    this.enqueue(ch, {
      run: (done) => this.runPlayback(pb, done),
      flushed: () => this.forgetPlayback(pb),
    });
    return pb;
  }

  private forgetPlayback(pb: SimPlayback): void {
    if (this.playbacks.get(pb.id) === pb) this.playbacks.delete(pb.id);
    pb.record.state = pb.state;
    pb.record.stopped = pb.stopped;
  }

  private playbackEvent(pb: SimPlayback, type: 'PlaybackStarted' | 'PlaybackContinuing' | 'PlaybackFinished'): void {
    this.channelEvent(pb.channel, { type, timestamp: asteriskTimestamp(), playback: pb.toJson() });
  }

  private runPlayback(pb: SimPlayback, done: () => void): void {
    const ch = pb.channel;
    if (pb.canceled) {
      // A playback stopped while queued still reports that it is done, when its turn comes.
      pb.state = 'done';
      this.playbackEvent(pb, 'PlaybackFinished');
      this.forgetPlayback(pb);
      done();
      return;
    }
    ch.currentPlayback = pb;
    ch.call.playbacksStarted += 1;
    const nth = ch.call.playbacksStarted;
    const end = () => {
      ch.currentPlayback = null;
      this.forgetPlayback(pb);
      done();
    };
    const playItem = () => {
      const media = pb.medias[pb.index] ?? '';
      pb.state = 'playing';
      this.playbackEvent(pb, 'PlaybackStarted');
      const plan = ch.call.hangupPlan.onPlaybackStart;
      if (pb.index === 0 && plan !== undefined && plan !== false && nth === (plan === true ? 1 : plan)) {
        this.remoteHangup(ch, 16);
        return; // teardown finished the playback
      }
      const scheme = /^([a-z]+):/.exec(media)?.[1];
      const playable = ['sound', 'recording', 'number', 'digits', 'characters', 'tone'];
      const missing = this.opts.missingMedia.has(media);
      const skip = !scheme || !playable.includes(scheme) || (missing && scheme !== 'sound') || (scheme === 'number' && !/^number:[+-]?\d/.test(media));
      const log = (level: 'ERROR' | 'WARNING' | 'NOTICE', file: string, message: string) => this.asteriskLog.push({ level, file, message, channel: ch.name });
      if (!scheme || !playable.includes(scheme)) log('ERROR', 'res_stasis_playback.c', `Attempted to play URI '${media}' on channel '${ch.name}' but scheme is unsupported`);
      else if (missing && scheme === 'sound') log('WARNING', 'file.c', `File ${media.slice('sound:'.length)} does not exist in any format`);
      pb.finishItem = (ok: boolean) => {
        pb.finishItem = null;
        pb.timer = null;
        const last = pb.index >= pb.medias.length - 1;
        if (!ok) log('WARNING', 'res_stasis_playback.c', `${ch.id}: Playback failed for ${media}`);
        if (pb.stopped) {
          log('NOTICE', 'res_stasis_playback.c', `${ch.id}: Playback stopped for ${media}`);
          pb.state = 'done';
          this.playbackEvent(pb, 'PlaybackFinished');
          end();
          return;
        }
        if (skip) {
          // Asterisk logs an unsupported or missing URI and moves on without a final update.
          if (last) end();
          else {
            pb.index += 1;
            playItem();
          }
          return;
        }
        if (last) {
          pb.state = ok ? 'done' : 'failed';
          this.playbackEvent(pb, 'PlaybackFinished');
          end();
        } else {
          pb.state = 'continuing';
          this.playbackEvent(pb, 'PlaybackContinuing');
          pb.index += 1;
          playItem();
        }
      };
      const ms = skip || missing ? 0 : Math.max(0, this.opts.mediaDurationMs(media));
      pb.timer = this.later(ms, () => pb.finishItem?.(!missing));
    };
    playItem();
  }

  /** DELETE /playbacks/{id}. */
  stopPlayback(pb: SimPlayback): void {
    if (pb.state === 'queued') {
      pb.canceled = true;
      pb.stopped = true;
      return;
    }
    if (pb.stopped) return;
    pb.stopped = true;
    this.cancel(pb.timer);
    pb.finishItem?.(true);
  }

  // ---- DTMF and hangups ----------------------------------------------------------

  async sendDtmf(ch: SimChannel, digits: string, gapMs = this.opts.dtmfGapMs): Promise<void> {
    if (!/^[0-9A-Da-d*#]*$/.test(digits)) throw new Error(`invalid DTMF digits: ${JSON.stringify(digits)}`);
    for (const [i, digit] of [...digits.toUpperCase()].entries()) {
      if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      if (ch.destroyed || this.closed) return;
      // DTMF never stops a playback: it is only reported.
      this.channelEvent(ch, { type: 'ChannelDtmfReceived', timestamp: asteriskTimestamp(), digit, duration_ms: 100, channel: ch.toJson() });
    }
  }

  /** DELETE /channels/{id}: soft hangup (ChannelHangupRequest cause 32, soft) with the requested cause. */
  hangupByAri(ch: SimChannel, cause: number, reason: string | undefined, reasonCode: string | undefined): void {
    if (ch.destroyed || ch.hangupPending) return;
    ch.hangupPending = true;
    const call = ch.call;
    if (call.hangupBy === undefined) {
      call.hangupBy = 'ari';
      call.hangupReason = reason;
      call.hangupReasonCode = reasonCode;
    }
    this.cancelOutbound(ch, 'CANCEL');
    this.channelEvent(ch, { type: 'ChannelHangupRequest', timestamp: asteriskTimestamp(), cause: SOFTHANGUP_EXPLICIT, soft: true, channel: ch.toJson() });
    this.teardown(ch, cause);
  }

  /** The far end hangs up: ChannelHangupRequest with the Q.850 cause and no `soft`. */
  remoteHangup(ch: SimChannel, cause: number): void {
    if (ch.destroyed || ch.hangupPending) return;
    ch.hangupPending = true;
    if (ch.call.hangupBy === undefined) ch.call.hangupBy = 'caller';
    this.cancelOutbound(ch, dialStatusForCause(cause));
    this.channelEvent(ch, { type: 'ChannelHangupRequest', timestamp: asteriskTimestamp(), cause, channel: ch.toJson() });
    this.teardown(ch, cause);
  }

  private teardown(ch: SimChannel, cause: number): void {
    if (ch.destroyed) return;
    const pb = ch.currentPlayback;
    if (pb && !pb.stopped) {
      // The playback ends with the hangup and reports "done".
      this.cancel(pb.timer);
      pb.timer = null;
      pb.finishItem = null;
      pb.state = 'done';
      this.playbackEvent(pb, 'PlaybackFinished');
      ch.currentPlayback = null;
      this.forgetPlayback(pb);
    }
    if (ch.bridge) this.leaveBridge(ch);
    this.leaveStasis(ch);
    this.destroy(ch, cause);
    if (ch.peer && !ch.peer.destroyed) {
      ch.peer.hangupPending = true;
      this.teardown(ch.peer, cause);
    }
  }

  private destroy(ch: SimChannel, cause: number): void {
    ch.destroyed = true;
    this.flushCommands(ch);
    for (const t of ch.outboundTimers) this.cancel(t);
    ch.outboundTimers = [];
    this.channels.delete(ch.id);
    for (const [id, pb] of this.playbacks) if (pb.channel === ch) this.playbacks.delete(id);
    // Only explicit subscribers still see the channel after StasisEnd.
    this.channelEvent(ch, { type: 'ChannelDestroyed', timestamp: asteriskTimestamp(), cause, cause_txt: causeText(cause), channel: ch.toJson() });
    const call = ch.call;
    if (call.channel === ch) {
      if (call.hangupCause === undefined) call.hangupCause = cause;
      call.finish();
    }
  }

  // ---- originate -----------------------------------------------------------------

  originate(p: {
    endpoint: string;
    tech: string;
    resource: string;
    channelId: string;
    otherChannelId: string | undefined;
    app: string | undefined;
    appArgs: string[];
    extension: string | undefined;
    context: string | undefined;
    caller: CallerIdJson;
    originator: string | undefined;
    timeout: number;
    variables: Record<string, string>;
  }): SimChannel {
    const call = new SimCall(this, 'outbound');
    const isLocal = p.tech.toLowerCase() === 'local';
    const base = isLocal ? `Local/${p.resource}` : `${p.tech}/${p.resource.includes('@') ? p.resource.slice(p.resource.lastIndexOf('@') + 1) : p.resource}`;
    const name = this.nextName(base);
    const dialplan = (): DialplanCepJson => ({ context: 'default', exten: 's', priority: 1, app_name: '', app_data: '' });
    const ch = this.withChannelvars(
      new SimChannel(p.channelId, isLocal ? `${name};1` : name, isLocal ? '' : `${randomUUID()}@127.0.0.1`, 'outbound', call, 'Down', { ...p.caller }, dialplan()),
    );
    // An outbound PJSIP channel has its peer's address but no incoming INVITE (no PJSIP_HEADER(read,...)).
    if (channelType(ch.name) === 'PJSIP') ch.remoteAddr = SIM_TRUNK_ADDRESS;
    ch.connected = { ...p.caller };
    call.channel = ch;
    // Variables are applied after callerId, so CALLERID(num) etc. pass through unchanged.
    for (const [k, v] of Object.entries(p.variables)) this.writeVariable(ch, k, v);
    this.channels.set(ch.id, ch);
    if (isLocal) {
      const otherId = p.otherChannelId ?? `${p.channelId};2`;
      const peer = this.withChannelvars(new SimChannel(otherId, `${name};2`, '', 'outbound', call, 'Ring', { ...p.caller }, dialplan()));
      ch.peer = peer;
      peer.peer = ch;
      this.channels.set(peer.id, peer);
    }
    if (p.app) {
      ch.explicitApps.add(p.app);
      ch.peer?.explicitApps.add(p.app);
    }
    this.calls.push(call);

    const info: OriginateInfo = {
      endpoint: p.endpoint,
      channelId: ch.id,
      appArgs: p.appArgs,
      timeout: p.timeout,
      variables: p.variables,
      call,
    };
    if (p.app !== undefined) info.app = p.app;
    if (p.extension !== undefined) info.extension = p.extension;
    if (p.context !== undefined) info.context = p.context;
    if (p.originator !== undefined) info.originator = p.originator;
    const outcome = this.originateHandler(info);
    ch.dialstring = p.resource;
    this.runOutbound(ch, outcome, p.app, p.appArgs);
    return ch;
  }

  private dialEvent(ch: SimChannel, dialstring: string, dialstatus: string): void {
    this.channelEvent(ch, { type: 'Dial', timestamp: asteriskTimestamp(), peer: ch.toJson(), forward: '', dialstring, dialstatus });
  }

  private runOutbound(ch: SimChannel, outcome: OriginateOutcome, app: string | undefined, appArgs: string[]): void {
    const resource = ch.dialstring;
    const step = (ms: number, fn: () => void) => ch.outboundTimers.push(this.later(ms, fn));
    step(0, () => this.dialEvent(ch, resource, ''));
    if (outcome.ring !== false) {
      step(1, () => {
        if (ch.destroyed) return;
        ch.state = 'Ringing';
        this.channelEvent(ch, { type: 'ChannelStateChange', timestamp: asteriskTimestamp(), channel: ch.toJson() });
        this.dialEvent(ch, resource, 'RINGING');
      });
    }
    const at = Math.max(2, outcome.afterMs ?? 5);
    if (outcome.answer) {
      step(at, () => {
        if (ch.destroyed) return;
        const peer = ch.peer;
        if (peer && !peer.destroyed) {
          peer.state = 'Up';
          this.channelEvent(peer, { type: 'ChannelStateChange', timestamp: asteriskTimestamp(), channel: peer.toJson() });
        }
        ch.state = 'Up';
        ch.call.answered = true;
        this.channelEvent(ch, { type: 'ChannelStateChange', timestamp: asteriskTimestamp(), channel: ch.toJson() });
        this.dialEvent(ch, resource, 'ANSWER');
        ch.outboundTimers = [];
        if (!app) return; // the dialplan runs it; nothing more to simulate
        if (!this.hub.isActive(app)) {
          ch.vars.set('STASISSTATUS', 'FAILED');
          ch.call.stasisStatus = 'FAILED';
          ch.hangupPending = true;
          this.teardown(ch, 16);
          return;
        }
        this.enterStasis(ch, app, appArgs);
      });
    } else {
      const cause = outcome.cause;
      step(at, () => {
        if (ch.destroyed) return;
        ch.hangupPending = true;
        ch.call.hangupBy = 'network';
        this.dialEvent(ch, resource, dialStatusForCause(cause));
        ch.outboundTimers = [];
        this.teardown(ch, cause);
      });
    }
  }

  /** A hangup before the outbound leg answered ends its dialing. */
  private cancelOutbound(ch: SimChannel, dialstatus: string): void {
    if (ch.direction !== 'outbound' || ch.outboundTimers.length === 0) return;
    for (const t of ch.outboundTimers) this.cancel(t);
    ch.outboundTimers = [];
    this.dialEvent(ch, ch.dialstring, dialstatus);
  }

  // ---- bridges -------------------------------------------------------------------

  createBridge(id: string, name: string, type: 'mixing' | 'holding', vars: Record<string, string>): SimBridge {
    const b = new SimBridge(id, name, type);
    for (const [k, v] of Object.entries(vars)) b.vars.set(k, v);
    this.bridges.set(id, b);
    return b;
  }

  addToBridge(b: SimBridge, ch: SimChannel): void {
    if (ch.bridge === b || ch.destroyed || !this.bridges.has(b.id)) return;
    if (ch.bridge) this.leaveBridge(ch);
    for (const other of b.members) {
      other.call.bridgedWith.add(ch.id);
      ch.call.bridgedWith.add(other.id);
    }
    b.members.push(ch);
    ch.bridge = b;
    const apps = new Set([...this.appsOf(ch), ...this.appsOfBridge(b)]);
    this.emit(apps, { type: 'ChannelEnteredBridge', timestamp: asteriskTimestamp(), bridge: b.toJson(), channel: ch.toJson() }, [
      ch.call,
      ...b.members.map((m) => m.call),
    ]);
  }

  leaveBridge(ch: SimChannel): void {
    const b = ch.bridge;
    if (!b) return;
    const apps = new Set([...this.appsOf(ch), ...this.appsOfBridge(b)]);
    b.members.splice(b.members.indexOf(ch), 1);
    ch.bridge = null;
    this.emit(apps, { type: 'ChannelLeftBridge', timestamp: asteriskTimestamp(), bridge: b.toJson(), channel: ch.toJson() }, [
      ch.call,
      ...b.members.map((m) => m.call),
    ]);
  }

  destroyBridge(b: SimBridge): void {
    if (!this.bridges.has(b.id)) return;
    const apps = this.appsOfBridge(b);
    const calls = b.members.map((m) => m.call);
    for (const m of [...b.members]) this.leaveBridge(m);
    this.bridges.delete(b.id);
    this.emit(apps, { type: 'BridgeDestroyed', timestamp: asteriskTimestamp(), bridge: b.toJson() }, calls);
  }

  // ---- subscriptions -------------------------------------------------------------

  subscribe(app: string, ch: SimChannel | undefined, b: SimBridge | undefined): void {
    ch?.explicitApps.add(app);
    b?.explicitApps.add(app);
  }

  // ---- shutdown ------------------------------------------------------------------

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const call of this.calls) call.finish('sim_closed');
  }
}
