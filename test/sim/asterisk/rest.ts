// REST routing and handlers: Asterisk 22's lookups, checks and error bodies for each
// operation the simulator's Swagger offers.
import { randomUUID } from 'node:crypto';
import { HANGUP_REASON_CAUSES } from './causes';
import type { Engine, SimBridge, SimChannel } from './model';
import { argList, argNumber, argObject, argString, type Args } from './params';
import { ROUTE_OPERATIONS, type RouteOperation } from './swagger';
import type { CallerIdJson } from './shapes';

export interface RestResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Runs once the response is written (events that follow an accepted request). */
  after?: () => void;
}

export interface RestContext {
  engine: Engine;
  args: Args;
  /** Files the request under a channel's call record. */
  relate: (ch: SimChannel | undefined) => void;
}

type Handler = (ctx: RestContext) => RestResult | Promise<RestResult>;

export type RouteMatch =
  | { kind: 'ok'; route: RouteOperation; pathParams: Record<string, string> }
  | { kind: 'not_found' }
  | { kind: 'bad_method'; allow: string[] };

/** Match decoded path segments (after `/ari/`) against the offered operations. */
export function matchRoute(segments: string[], method: string): RouteMatch {
  let best: { path: string; literals: number; params: Record<string, string> } | undefined;
  for (const r of ROUTE_OPERATIONS) {
    if (r.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let literals = 0;
    let ok = true;
    r.segments.forEach((tpl, i) => {
      const seg = segments[i] ?? '';
      const m = /^\{(\w+)\}$/.exec(tpl);
      if (m) params[m[1]!] = seg;
      else if (tpl === seg) literals++;
      else ok = false;
    });
    // Like Asterisk's handler tree, a literal segment wins over a path variable.
    if (ok && (!best || literals > best.literals)) best = { path: r.path, literals, params };
  }
  if (!best) return { kind: 'not_found' };
  const bestPath = best.path;
  const candidates = ROUTE_OPERATIONS.filter((r) => r.path === bestPath);
  const route = candidates.find((r) => r.method === method);
  if (!route) return { kind: 'bad_method', allow: ['OPTIONS', ...candidates.map((r) => r.method)] };
  return { kind: 'ok', route, pathParams: best.params };
}

export function error(status: number, message: string): RestResult {
  return { status, body: { message } };
}

const noContent = (after?: () => void): RestResult => (after ? { status: 204, after } : { status: 204 });

// ---- shared lookups (Asterisk's find_control / channel_state_invalid) ------------

type Found<T> = { ok: true; value: T } | { ok: false; result: RestResult };

function findControl(ctx: RestContext, id: string): Found<SimChannel> {
  const ch = ctx.engine.channels.get(id);
  if (ch && ch.stasisApp && !ch.destroyed) {
    ctx.relate(ch);
    return { ok: true, value: ch };
  }
  const any = ctx.engine.findByNameOrId(id);
  ctx.relate(any);
  if (!any) return { ok: false, result: error(404, 'Channel not found') };
  return { ok: false, result: error(409, 'Channel not in Stasis application') };
}

function stateInvalid(ch: SimChannel): RestResult | undefined {
  if (ch.state === 'Down' || ch.state === 'Rsrved' || ch.state === 'Ringing') return error(412, 'Channel in invalid state');
  return undefined;
}

/** A control command the REST response waits for (answer, setChannelVar, bridge changes). */
function syncCommand(ctx: RestContext, ch: SimChannel, run: () => RestResult, onFlush: RestResult): Promise<RestResult> {
  return new Promise((resolve) => {
    ctx.engine.enqueue(ch, {
      run: (done) => {
        resolve(run());
        done();
      },
      flushed: () => resolve(onFlush),
    });
  });
}

/** Bridge channel list lookup (Asterisk's control_list_create). */
function bridgeChannels(ctx: RestContext): Found<SimChannel[]> {
  const ids = argList(ctx.args, 'channel').filter((s) => s.length > 0);
  if (ids.length === 0) return { ok: false, result: error(400, 'Missing parameter channel') };
  const out: SimChannel[] = [];
  for (const id of ids) {
    const ch = ctx.engine.channels.get(id);
    if (ch && ch.stasisApp) {
      ctx.relate(ch);
      out.push(ch);
      continue;
    }
    const any = ctx.engine.findByNameOrId(id);
    ctx.relate(any);
    return { ok: false, result: any ? error(422, 'Channel not in Stasis application') : error(400, 'Channel not found') };
  }
  return { ok: true, value: out };
}

function findBridge(ctx: RestContext): Found<SimBridge> {
  const b = ctx.engine.bridges.get(argString(ctx.args, 'bridgeId') ?? '');
  if (!b) return { ok: false, result: error(404, 'Bridge not found') };
  for (const m of b.members) ctx.relate(m);
  return { ok: true, value: b };
}

/** JSON `variables` object → strings (value or {value, report_events}); null when malformed. */
function variablesFrom(obj: Record<string, unknown> | undefined): { ok: true; vars: Record<string, string> } | { ok: false; result: RestResult } {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (k.length === 0) continue;
    if (typeof v === 'string') vars[k] = v;
    else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const value = (v as Record<string, unknown>).value;
      const report = (v as Record<string, unknown>).report_events;
      if (typeof value !== 'string') {
        return { ok: false, result: error(400, "Each object value in 'variables' must include string field 'value'") };
      }
      if (report !== undefined && typeof report !== 'boolean') {
        return { ok: false, result: error(400, "Field 'report_events' in 'variables' entries must be boolean") };
      }
      vars[k] = value;
    } else {
      return { ok: false, result: error(400, "Each value in 'variables' must be a string or an object with 'value' and optional 'report_events'") };
    }
  }
  return { ok: true, vars };
}

/** Caller id parsing as ast_callerid_parse does it for originate's callerId. */
export function parseCallerId(raw: string): CallerIdJson {
  const angle = /^\s*(.*?)\s*<([^>]*)>\s*$/.exec(raw);
  let name: string;
  let number: string;
  if (angle) {
    name = (angle[1] ?? '').replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1');
    number = angle[2] ?? '';
  } else if (/^[0-9+*#()\-.\s]+$/.test(raw)) {
    name = '';
    number = raw.trim();
  } else {
    name = raw.replace(/^"(.*)"$/, '$1');
    number = '';
  }
  // ast_shrink_phone_number drops separators from a number made only of digits and them.
  if (/^[0-9+()\-.\s]+$/.test(number)) number = number.replace(/[()\-.\s]/g, '');
  return { name, number };
}

const KNOWN_TECHS = new Set(['pjsip', 'sip', 'iax2', 'dahdi', 'local', 'motif', 'unistim', 'console']);
const KNOWN_FORMATS = new Set([
  'ulaw', 'alaw', 'gsm', 'g722', 'g726', 'g726aal2', 'g729', 'g723', 'ilbc', 'lpc10', 'speex', 'speex16', 'speex32',
  'opus', 'slin', 'slin12', 'slin16', 'slin24', 'slin32', 'slin44', 'slin48', 'slin96', 'slin192', 'adpcm', 'siren7',
  'siren14', 'testlaw', 'h261', 'h263', 'h263p', 'h264', 'h265', 'mpeg4', 'vp8', 'vp9', 't140', 't140red', 'jpeg', 'png',
]);
const MAX_PUBLIC_UNIQUEID = 149;

// ---- handlers ----------------------------------------------------------------------

const handlers: Record<string, Handler> = {
  'channels.get': (ctx) => {
    const ch = ctx.engine.channels.get(argString(ctx.args, 'channelId') ?? '');
    ctx.relate(ch);
    return ch ? { status: 200, body: ch.toJson() } : error(404, 'Channel not found');
  },

  'channels.originate': (ctx) => {
    const a = ctx.args;
    const vars = variablesFrom(argObject(a, 'variables'));
    if (!vars.ok) return vars.result;
    const channelId = argString(a, 'channelId') || undefined;
    const otherChannelId = argString(a, 'otherChannelId') || undefined;
    if ((channelId && channelId.length > MAX_PUBLIC_UNIQUEID) || (otherChannelId && otherChannelId.length > MAX_PUBLIC_UNIQUEID)) {
      return error(400, `Uniqueid length exceeds maximum of ${MAX_PUBLIC_UNIQUEID}`);
    }
    const endpoint = argString(a, 'endpoint') ?? '';
    if (!endpoint) return error(400, 'Endpoint must be specified');
    const originator = argString(a, 'originator') || undefined;
    const formats = argString(a, 'formats') || undefined;
    if (originator && formats) return error(400, "Originator and formats can't both be specified");
    const slash = endpoint.indexOf('/');
    const tech = slash < 0 ? endpoint : endpoint.slice(0, slash);
    const resource = slash < 0 ? '' : endpoint.slice(slash + 1);
    if (!tech || !resource) return error(400, 'Invalid endpoint specified');
    const app = argString(a, 'app') || undefined;
    const extension = argString(a, 'extension') || undefined;
    if (!app && !extension) return error(400, 'Application or extension must be specified');
    if (originator) {
      const o = ctx.engine.findByNameOrId(originator);
      if (!o) return error(400, 'Provided originator channel was not found');
      ctx.relate(o);
    }
    for (const f of (formats ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
      if (!KNOWN_FORMATS.has(f)) return error(400, `Provided format (${f}) was not found`);
    }
    // Asterisk answers a failed channel request with its out-of-memory body.
    if (!KNOWN_TECHS.has(tech.toLowerCase())) return { status: 500, body: { error: 'Allocation failed' } };
    const id = channelId ?? ctx.engine.newChannelId();
    const isLocal = tech.toLowerCase() === 'local';
    const otherId = isLocal ? (otherChannelId ?? `${id};2`) : undefined;
    // A requested id is refused when it is a prefix of a live channel's id (the ;1 half exists first).
    if ((channelId && ctx.engine.idConflicts(channelId)) || (otherId && (ctx.engine.idConflicts(otherId) || id.toLowerCase().startsWith(otherId.toLowerCase())))) {
      return error(409, 'Channel with given unique ID already exists');
    }
    // File the request under calls the application names in appArgs (the forwarded caller).
    for (const arg of (argString(a, 'appArgs') ?? '').split(',')) if (arg) ctx.relate(ctx.engine.channels.get(arg));
    const callerIdRaw = argString(a, 'callerId');
    const caller = callerIdRaw ? parseCallerId(callerIdRaw) : { name: '', number: '' };
    const appArgs = argString(a, 'appArgs');
    const ch = ctx.engine.originate({
      endpoint,
      tech,
      resource,
      channelId: id,
      otherChannelId: otherId,
      app,
      appArgs: appArgs ? appArgs.split(',') : [],
      extension,
      context: argString(a, 'context') || (extension ? 'default' : undefined),
      caller,
      originator,
      timeout: argNumber(a, 'timeout') ?? 30,
      variables: vars.vars,
    });
    ctx.relate(ch);
    return { status: 200, body: ch.toJson() };
  },

  'channels.hangup': (ctx) => {
    const ch = ctx.engine.findByNameOrId(argString(ctx.args, 'channelId') ?? '');
    ctx.relate(ch);
    if (!ch) return error(404, 'Channel not found');
    const reason = argString(ctx.args, 'reason') || undefined;
    const reasonCode = argString(ctx.args, 'reason_code') || undefined;
    if (reason && reasonCode) return error(400, "The reason and reason_code can't both be specified");
    let cause = 16;
    if (reasonCode) {
      if (!/^[+-]?\d{1,10}$/.test(reasonCode)) return error(400, 'Invalid reason for hangup reason code provided');
      cause = Number(reasonCode);
    } else if (reason) {
      const c = Object.prototype.hasOwnProperty.call(HANGUP_REASON_CAUSES, reason) ? HANGUP_REASON_CAUSES[reason] : undefined;
      if (c === undefined) return error(400, 'Invalid reason for hangup reason provided');
      cause = c;
    }
    return noContent(() => ctx.engine.hangupByAri(ch, cause, reason, reasonCode));
  },

  'channels.continueInDialplan': (ctx) => {
    const found = findControl(ctx, argString(ctx.args, 'channelId') ?? '');
    if (!found.ok) return found.result;
    const ch = found.value;
    const bad = stateInvalid(ch);
    if (bad) return bad;
    const context = argString(ctx.args, 'context') || undefined;
    const extension = argString(ctx.args, 'extension') || undefined;
    const label = argString(ctx.args, 'label') || undefined;
    const priorityArg = argNumber(ctx.args, 'priority') || undefined;
    const to: { context: string; extension: string; priority?: number; label?: string } = context
      ? { context, extension: extension ?? 's' }
      : { context: ch.dialplan.context, extension: extension ?? ch.dialplan.exten };
    if (label) {
      if (/^\s*[+-]?\d+/.test(label)) {
        const n = parseInt(label, 10);
        if (n === 0) return error(400, 'Requested priority is illegal');
        to.priority = n;
      } else {
        to.label = label; // the simulator has no dialplan to resolve labels in
      }
    } else if (priorityArg !== undefined) {
      to.priority = priorityArg;
    } else if (!context && !extension) {
      to.priority = ch.dialplan.priority + 1;
    } else {
      to.priority = 1;
    }
    ctx.engine.enqueue(ch, {
      run: (done) => {
        ctx.engine.continueInDialplan(ch, to);
        done();
      },
    });
    return noContent();
  },

  'channels.answer': (ctx) => {
    const found = findControl(ctx, argString(ctx.args, 'channelId') ?? '');
    if (!found.ok) return found.result;
    const ch = found.value;
    const bad = stateInvalid(ch);
    if (bad) return bad;
    return syncCommand(ctx, ch, () => {
      ctx.engine.answer(ch);
      return noContent();
    }, error(500, 'Failed to answer channel'));
  },

  'channels.ring': (ctx) => indication(ctx),
  'channels.progress': (ctx) => indication(ctx),

  'channels.play': (ctx) => {
    const found = findControl(ctx, argString(ctx.args, 'channelId') ?? '');
    if (!found.ok) return found.result;
    const ch = found.value;
    const bad = stateInvalid(ch);
    if (bad) return bad;
    if ((argNumber(ctx.args, 'skipms') ?? 0) < 0) return error(400, 'skipms cannot be negative');
    if ((argNumber(ctx.args, 'offsetms') ?? 0) < 0) return error(400, 'offsetms cannot be negative');
    const media = argList(ctx.args, 'media');
    if (media.length === 0 || media.some((m) => m.length === 0)) return error(500, 'Failed to queue media for playback');
    const pb = ctx.engine.newPlayback(ch, media, argString(ctx.args, 'lang') || 'en', argString(ctx.args, 'playbackId') || undefined);
    return {
      status: 201,
      body: pb.toJson(),
      headers: { Location: `/ari/playbacks/${encodeURIComponent(pb.id)}` },
    };
  },

  'channels.getChannelVar': (ctx) => {
    const variable = argString(ctx.args, 'variable') ?? '';
    if (!variable) return error(400, 'Variable name is required');
    const ch = ctx.engine.findByNameOrId(argString(ctx.args, 'channelId') ?? '');
    ctx.relate(ch);
    if (!ch) return error(404, 'Provided channel was not found');
    const r = ctx.engine.readVariable(ch, variable);
    if (r.ok) return { status: 200, body: { value: r.value } };
    return r.kind === 'function' ? error(500, 'Unable to read provided function') : error(404, 'Provided variable was not found');
  },

  'channels.setChannelVar': (ctx) => {
    const variable = argString(ctx.args, 'variable') ?? '';
    if (!variable) return error(400, 'Variable name is required');
    const found = findControl(ctx, argString(ctx.args, 'channelId') ?? '');
    if (!found.ok) return found.result;
    const ch = found.value;
    const value = argString(ctx.args, 'value');
    return syncCommand(ctx, ch, () => (ctx.engine.setVariable(ch, variable, value) ? noContent() : error(400, 'Failed to execute function')), error(400, 'Failed to execute function'));
  },

  'channels.dial': (ctx) => {
    const found = findControl(ctx, argString(ctx.args, 'channelId') ?? '');
    if (!found.ok) return found.result;
    const ch = found.value;
    if (ch.state !== 'Down' && ch.state !== 'Rsrved') return error(409, "Channel is not in the 'Down' state");
    return noContent();
  },

  'bridges.create': (ctx) => {
    const vars = variablesFrom(argObject(ctx.args, 'variables'));
    const requested = argString(ctx.args, 'bridgeId') || undefined;
    if (requested && ctx.engine.bridges.has(requested)) return error(409, `Bridge with id '${requested}' already exists`);
    if (!vars.ok) return vars.result;
    const tokens = (argString(ctx.args, 'type') || 'mixing').split(',').map((t) => t.trim());
    const type = tokens.includes('mixing') ? 'mixing' : tokens.includes('holding') ? 'holding' : undefined;
    if (!type) return error(500, `Unable to create bridge. Possible duplicate bridge id '${requested ?? '(null)'}'`);
    const b = ctx.engine.createBridge(requested ?? randomUUID(), argString(ctx.args, 'name') ?? '', type, vars.vars);
    return { status: 200, body: b.toJson() };
  },

  'bridges.get': (ctx) => {
    const bridge = findBridge(ctx);
    if (!bridge.ok) return bridge.result;
    return { status: 200, body: bridge.value.toJson() };
  },

  'bridges.destroy': (ctx) => {
    const found = findBridge(ctx);
    if (!found.ok) return found.result;
    return noContent(() => ctx.engine.destroyBridge(found.value));
  },

  'bridges.addChannel': async (ctx) => {
    const bridge = findBridge(ctx);
    if (!bridge.ok) return bridge.result;
    const chans = bridgeChannels(ctx);
    if (!chans.ok) return chans.result;
    for (const ch of chans.value) {
      const r = await syncCommand(ctx, ch, () => {
        ctx.engine.addToBridge(bridge.value, ch);
        return noContent();
      }, error(500, 'Failed to add channel to bridge'));
      if (r.status !== 204) return r;
    }
    return noContent();
  },

  'bridges.removeChannel': async (ctx) => {
    const bridge = findBridge(ctx);
    if (!bridge.ok) return bridge.result;
    const chans = bridgeChannels(ctx);
    if (!chans.ok) return chans.result;
    if (chans.value.some((ch) => ch.bridge !== bridge.value)) return error(422, 'Channel not in this bridge');
    for (const ch of chans.value) {
      await syncCommand(ctx, ch, () => {
        ctx.engine.leaveBridge(ch);
        return noContent();
      }, noContent());
    }
    return noContent();
  },

  'playbacks.get': (ctx) => {
    const pb = ctx.engine.playbacks.get(argString(ctx.args, 'playbackId') ?? '');
    if (!pb) return error(404, 'Playback not found');
    ctx.relate(pb.channel);
    return { status: 200, body: pb.toJson() };
  },

  'playbacks.stop': (ctx) => {
    const pb = ctx.engine.playbacks.get(argString(ctx.args, 'playbackId') ?? '');
    if (!pb) return error(404, 'Playback not found');
    ctx.relate(pb.channel);
    return noContent(() => ctx.engine.stopPlayback(pb));
  },

  // res/ari/resource_asterisk.c: an unset global reads as "" (200); a value left out unsets it.
  'asterisk.getGlobalVar': (ctx) => {
    const variable = argString(ctx.args, 'variable') ?? '';
    if (!variable) return error(400, 'Variable name is required');
    return { status: 200, body: { value: ctx.engine.globals.get(variable) ?? '' } };
  },

  'asterisk.setGlobalVar': (ctx) => {
    const variable = argString(ctx.args, 'variable') ?? '';
    if (!variable) return error(400, 'Variable name is required');
    // A name with "(" is a dialplan function written without a channel: not modelled.
    if (variable.includes('(')) throw new Error(`the simulator does not model writing ${variable} without a channel`);
    const value = argString(ctx.args, 'value');
    if (value === undefined) ctx.engine.globals.delete(variable);
    else ctx.engine.globals.set(variable, value);
    return noContent();
  },

  'applications.get': (ctx) => {
    const app = argString(ctx.args, 'applicationName') ?? '';
    if (!ctx.engine.appExists(app)) return error(404, 'Application not found');
    return { status: 200, body: ctx.engine.applicationJson(app) };
  },

  'applications.subscribe': (ctx) => {
    const sources = argList(ctx.args, 'eventSource').filter((s) => s.length > 0);
    if (sources.length === 0) return error(400, 'Missing parameter eventSource');
    const app = argString(ctx.args, 'applicationName') ?? '';
    if (!ctx.engine.appExists(app)) return error(404, 'Application not found');
    const resolved: { ch?: SimChannel; b?: SimBridge }[] = [];
    for (const src of sources) {
      const colon = src.indexOf(':');
      const scheme = colon < 0 ? '' : src.slice(0, colon);
      const id = src.slice(colon + 1);
      if (scheme === 'channel') {
        const ch = ctx.engine.findByNameOrId(id);
        ctx.relate(ch);
        if (!ch) return error(422, 'Event source does not exist');
        resolved.push({ ch });
      } else if (scheme === 'bridge') {
        const b = ctx.engine.bridges.get(id);
        if (!b) return error(422, 'Event source does not exist');
        resolved.push({ b });
      } else if (scheme === 'endpoint' || scheme === 'deviceState') {
        return error(422, 'Event source does not exist'); // the simulator models no endpoints or device states
      } else {
        return error(400, 'Invalid event source URI scheme');
      }
    }
    for (const r of resolved) ctx.engine.subscribe(app, r.ch, r.b);
    return { status: 200, body: ctx.engine.applicationJson(app) };
  },
};

function indication(ctx: RestContext): RestResult {
  const found = findControl(ctx, argString(ctx.args, 'channelId') ?? '');
  if (!found.ok) return found.result;
  const bad = stateInvalid(found.value);
  if (bad) return bad;
  // Ringing / progress are indications only: the channel state does not change.
  ctx.engine.enqueue(found.value, { run: (done) => done() });
  return noContent();
}

export function handlerFor(route: RouteOperation): Handler | undefined {
  return handlers[`${route.resource}.${route.operation.nickname}`];
}
