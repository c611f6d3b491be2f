// Dialplan applications the agent can run with sendmsg/execute, emulated on a
// SimChannel. Argument parsing and defaults follow mod_dptools; timing is the
// simulator's (playback lasts `playbackMs`, FreeSWITCH timeouts are scaled).

import { randomUUID } from 'node:crypto';
import type { SimChannel } from './channel';
import type { AppHandler } from './types';
import { dialStatusFor, parseCause, sipStatusToCause } from './causes';
import { separateString } from './expand';

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1', 'enabled', 'active', 'allow']);
export const isTrue = (v: string | undefined): boolean => v !== undefined && TRUE_WORDS.has(v.toLowerCase());

const int = (s: string | undefined, dflt = 0): number => {
  const n = Number.parseInt(s ?? '', 10);
  return Number.isFinite(n) ? n : dflt;
};

type PlayResult = 'played' | 'terminated' | 'digit' | 'hangup';

/**
 * switch_ivr_play_file: pre-answers an unanswered channel, lasts
 * playbackDuration(file), and stops early on a digit when `stopOn` accepts it.
 */
async function playFile(ch: SimChannel, file: string, stopOn?: (d: string) => boolean): Promise<PlayResult> {
  if (ch.stopping) return 'hangup';
  if (!file) return 'played';
  ch.preAnswer();
  ch.playbacks.push(file);
  ch.fire('PLAYBACK_START', { post: [['Playback-File-Path', file]] });
  const total = ch.playbackDuration(file);
  const started = Date.now();
  const why = await ch.wait(total, stopOn);
  const ms = Math.min(total, Date.now() - started);
  ch.setVar('playback_last_offset_pos', String(ms * 8));
  ch.setVar('playback_seconds', String(Math.floor(ms / 1000)));
  ch.setVar('playback_ms', String(ms));
  ch.setVar('playback_samples', String(ms * 8));
  ch.fire('PLAYBACK_STOP', {
    post: [
      ['Playback-File-Path', file],
      ['Playback-Status', why === 'timeout' ? 'done' : 'break'],
    ],
  });
  if (why === 'interrupted') return ch.isDown ? 'hangup' : 'terminated';
  return why === 'digit' ? 'digit' : 'played';
}

function playbackTerminators(ch: SimChannel): string {
  const t = ch.getVar('playback_terminators') ?? '*';
  if (t.toLowerCase() === 'any') return '1234567890*#';
  if (t.toLowerCase() === 'none') return '';
  return t;
}

const playback: AppHandler = async ({ ch, arg, setResponse }) => {
  ch.setVar('playback_terminator_used', undefined);
  const terms = playbackTerminators(ch);
  const r = await playFile(ch, arg, terms ? (d) => terms.includes(d) : undefined);
  if (r === 'digit') {
    const d = ch.takeDigit((x) => terms.includes(x));
    if (d) ch.setVar('playback_terminator_used', d);
  }
  setResponse(r === 'hangup' ? 'PLAYBACK ERROR' : 'FILE PLAYED');
};

type ReadStatus = 'success' | 'timeout' | 'failure' | 'too_small' | 'restart';

/** switch_ivr_collect_digits_count */
async function collectDigits(
  ch: SimChannel,
  buf: string,
  max: number,
  terminators: string,
  firstTimeout: number,
  digitTimeout: number,
): Promise<{ status: ReadStatus; buf: string; term: string }> {
  let timeout = firstTimeout;
  for (;;) {
    if (ch.stopping) return { status: 'failure', buf, term: '' };
    if (buf.length >= max) return { status: 'success', buf, term: '' };
    const why = await ch.wait(ch.scaled(timeout), () => true);
    if (why === 'interrupted') return { status: 'failure', buf, term: '' };
    if (why === 'timeout') return { status: 'timeout', buf, term: '' };
    const d = ch.takeDigit();
    if (d === undefined) continue;
    if (terminators.includes(d)) return { status: 'success', buf, term: d };
    buf += d;
    timeout = digitTimeout;
  }
}

/** switch_ivr_read: prompt (a digit ends it and is kept), then collect, then read_result. */
async function ivrRead(
  ch: SimChannel,
  min: number,
  max: number,
  prompt: string,
  varName: string,
  timeout: number,
  terminators: string,
  digitTimeoutIn: number,
): Promise<{ status: ReadStatus; digits: string }> {
  const termRequired = terminators.startsWith('=');
  const digitTimeout = digitTimeoutIn || timeout;
  if (max < min) max = min;
  ch.setVar('read_result', undefined);
  if (varName) ch.setVar(varName, undefined);
  if (ch.stopping) return { status: 'failure', digits: '' };
  ch.preAnswer();
  let buf = '';
  let status: ReadStatus = 'success';
  if (prompt && prompt.toLowerCase() !== 'silence') {
    const r = await playFile(ch, prompt, () => true);
    if (r === 'hangup' || r === 'terminated') return { status: 'failure', digits: '' };
    if (r === 'digit') buf += ch.takeDigit() ?? '';
  }
  let term = '';
  if ((min && buf.length < min) || buf.length < max) {
    const c = await collectDigits(ch, buf, max, terminators, buf.length ? digitTimeout : timeout, digitTimeout);
    status = c.status;
    buf = c.buf;
    term = c.term;
  }
  if (term) {
    ch.setVar('read_terminator_used', term);
    const p = terminators.indexOf(term);
    if (p >= 1 && (terminators[p - 1] === '+' || terminators[p - 1] === 'x')) {
      buf += term;
      if (terminators[p - 1] === 'x') status = 'restart';
    }
  } else if (termRequired) {
    status = 'too_small';
  }
  if (min && buf.length < min) status = 'too_small';
  ch.setVar('read_result', status === 'success' ? 'success' : status === 'timeout' ? 'timeout' : 'failure');
  if (status !== 'restart' && max === 1 && buf.length === 1 && terminators.includes(buf)) buf = '';
  if (varName && buf) ch.setVar(varName, buf);
  return { status, digits: buf };
}

function regexMatches(digits: string, pattern: string): boolean {
  let re: RegExp;
  try {
    const m = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
    re = m ? new RegExp(m[1]!, m[2]!.replace(/[^imsu]/g, '')) : new RegExp(pattern);
  } catch {
    return false;
  }
  return re.test(digits);
}

/** play_and_get_digits <min> <max> <tries> <timeout> <terminators> <file> <invalid_file> [var] [regexp] [digit_timeout] [transfer_on_failure] */
const playAndGetDigits: AppHandler = async ({ ch, arg }) => {
  if (!arg) return;
  const a = separateString(arg, 11);
  let min = int(a[0]);
  let max = a.length > 1 ? int(a[1]) : 0;
  let tries = a.length > 2 ? int(a[2]) : 0;
  let timeout = a.length > 3 ? int(a[3]) : 1000;
  let terms = a[4] ?? '';
  const prompt = a[5] ?? '';
  const invalid = a[6] ?? '';
  const varName = a[7] ?? '';
  const regex = a[8] ?? '';
  const digitTimeout = a.length > 9 ? Math.max(0, int(a[9])) : 0;
  const onFailure = a[10] ?? '';
  if (min <= 0) min = 0;
  if (max < min) max = min;
  if (timeout <= 1000) timeout = 1000;
  if (!terms) terms = '#';
  if (regex && varName) ch.setVar(`${varName}_invalid`, undefined);
  while (!ch.stopping && tries > 0) {
    const r = await ivrRead(ch, min, max, prompt, varName, timeout, terms, digitTimeout);
    let status = r.status;
    if (status === 'restart') return;
    if (status === 'timeout' && r.digits.length >= min) status = 'success';
    if (min === 0 && r.digits.length === 0 && ch.getVar('read_terminator_used') !== undefined) return;
    if (!(status === 'too_small' && r.digits.length === 0) && status === 'success' && r.digits) {
      if (!regex || regexMatches(r.digits, regex)) return;
      ch.setVar(varName, undefined);
      if (varName) ch.setVar(`${varName}_invalid`, r.digits);
    }
    if (ch.stopping) break;
    await playFile(ch, invalid);
    tries--;
  }
  if (onFailure && !ch.stopping) {
    const [ext, dp, ctx] = separateString(onFailure, 4);
    if (ext) ch.transfer(ext, dp || undefined, ctx || undefined, 'transfer');
  }
};

/** read <min> <max> <sound_file> <variable_name> <timeout> <terminators> [digit_timeout] */
const read: AppHandler = async ({ ch, arg }) => {
  if (!arg) return;
  const a = separateString(arg, 7);
  const min = Math.max(0, int(a[0]));
  const max = a.length > 1 ? int(a[1]) : 0;
  let timeout = a.length > 4 ? int(a[4]) : 1000;
  if (timeout <= 1000) timeout = 1000;
  await ivrRead(ch, min, Math.max(max, min), a[2] ?? '', a[3] ?? '', timeout, a[5] || '#', a.length > 6 ? int(a[6]) : 0);
};

const sleep: AppHandler = async ({ ch, arg }) => {
  if (!arg) return;
  await ch.wait(ch.scaled(int(arg)));
};

function splitAssignment(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=');
  if (eq < 0) return [arg, undefined];
  const val = arg.slice(eq + 1);
  return [arg.slice(0, eq), val === '' ? undefined : val];
}

const set: AppHandler = ({ ch, arg }) => {
  if (!arg) return;
  const [k, v] = splitAssignment(arg);
  if (k) ch.setVar(k, v);
};

const exportApp: AppHandler = ({ ch, arg }) => {
  if (!arg) return;
  let [k, v] = splitAssignment(arg);
  let local = true;
  if (k.startsWith('nolocal:')) {
    k = k.slice('nolocal:'.length);
    local = false;
  }
  if (!k) return;
  if (local) ch.setVar(k, v);
  const list = (ch.getVar('export_vars') ?? '').split(',').filter(Boolean);
  if (!list.includes(k)) list.push(k);
  ch.setVar('export_vars', list.join(','));
};

const unset: AppHandler = ({ ch, arg }) => {
  if (arg) ch.setVar(arg, undefined);
};

const multiset: AppHandler = ({ ch, arg }) => {
  let text = arg;
  let delim = ' ';
  if (text.startsWith('^^') && text.length > 2) {
    delim = text[2]!;
    text = text.slice(3);
  }
  for (const part of text.split(delim)) {
    const [k, v] = splitAssignment(part.trim());
    if (k) ch.setVar(k, v);
  }
};

const hangup: AppHandler = ({ ch, arg }) => {
  ch.hangup(parseCause(arg));
};

/** respond <code> [reason]: 1xx/2xx change the answer state; >= 300 rejects the call (sofia's cause mapping). */
const respond: AppHandler = ({ ch, arg }) => {
  const code = int(arg.trim().split(/\s+/)[0]);
  if (!code) return;
  if (code === 180) ch.ringReady();
  else if (code === 183) ch.preAnswer();
  else if (code >= 200 && code < 300) ch.answer();
  else if (code >= 300 && ch.state !== 'answered') ch.hangup(sipStatusToCause(code), { sipStatus: code });
};

/** transfer [-bleg|-both] <ext> [<dialplan> [<context>]] */
const transfer: AppHandler = ({ ch, arg }) => {
  const a = separateString(arg, 4);
  if (a[0] === '-bleg' || a[0] === '-both') a.shift();
  const [ext, dp, ctx] = a;
  if (ext) ch.transfer(ext, dp || undefined, ctx || undefined, 'transfer');
};

const executeExtension: AppHandler = ({ ch, arg }) => {
  const [ext, dp, ctx] = separateString(arg, 3);
  if (ext) ch.transfer(ext, dp || undefined, ctx || undefined, 'execute_extension');
};

/** continue_on_fail / failure_causes handling of a failed bridge (switch_channel_handle_cause, simplified). */
function continuesAfterFailure(ch: SimChannel, cause: string, code: number): boolean {
  const cof = ch.getVar('continue_on_fail');
  if (!cof) return false;
  if (isTrue(cof)) return true;
  return cof.split(',').some((c) => c.trim().toUpperCase() === cause || c.trim() === String(code));
}

/** bridge <dialstring>: the result is the test's choice (CallSpec.bridge). */
const bridge: AppHandler = async ({ ch, arg }) => {
  if (!arg) return;
  const out = ch.bridgeOutcome(arg);
  await ch.wait(1);
  if (ch.stopping) return;
  if (!out.answer) {
    const cause = parseCause(out.cause);
    ch.setVar('originate_disposition', cause.name);
    ch.setVar('originate_failed_cause', cause.name);
    ch.setVar('DIALSTATUS', dialStatusFor(cause.name));
    ch.setVar('bridge_hangup_cause', cause.name);
    ch.setVar('last_bridge_hangup_cause', cause.name);
    ch.bridgeInfo = { dialstring: arg, answered: false, cause: cause.name };
    if (!continuesAfterFailure(ch, cause.name, cause.code)) ch.hangup(cause);
    return;
  }
  const other = out.otherUuid ?? randomUUID();
  ch.answer();
  ch.setVar('originate_disposition', 'SUCCESS');
  ch.setVar('DIALSTATUS', 'SUCCESS');
  ch.setVar('bridge_uuid', other);
  ch.setVar('signal_bond', other);
  ch.setVar('last_bridge_to', other);
  ch.setOtherLeg({ uuid: other, dialstring: arg });
  ch.fire('CHANNEL_BRIDGE', {
    post: [
      ['Bridge-A-Unique-ID', ch.uuid],
      ['Bridge-B-Unique-ID', other],
    ],
  });
  ch.markBridged({ dialstring: arg, answered: true, otherUuid: other });
  const why = await ch.wait(out.talkMs ?? 10);
  ch.setVar('bridge_hangup_cause', 'NORMAL_CLEARING');
  ch.setVar('last_bridge_hangup_cause', 'NORMAL_CLEARING');
  ch.fire('CHANNEL_UNBRIDGE', {
    post: [
      ['Bridge-A-Unique-ID', ch.uuid],
      ['Bridge-B-Unique-ID', other],
    ],
  });
  if (why === 'timeout' && isTrue(ch.getVar('hangup_after_bridge'))) ch.hangup('NORMAL_CLEARING');
};

/** voicemail ...: answers, plays the greeting, "records" for one playback length, then the caller hangs up. */
const voicemail: AppHandler = async ({ ch }) => {
  ch.answer();
  const r = await playFile(ch, 'voicemail/vm-record_message.wav');
  if (r === 'hangup' || ch.stopping) return;
  ch.markVoicemail();
  const why = await ch.wait(ch.playbackDuration('voicemail/recording'));
  ch.setVar('voicemail_message_len', '1');
  if (why === 'timeout') ch.callerHangup();
};

const log: AppHandler = ({ ch, arg }) => {
  ch.logs.push(arg);
};

const info: AppHandler = ({ ch }) => {
  ch.logs.push(`CHANNEL_DATA ${ch.uuid} ${ch.channelName}`);
};

/** echo: runs until the call ends or is transferred. */
const echo: AppHandler = async ({ ch }) => {
  await ch.wait(Number.POSITIVE_INFINITY);
};

const schedHangup: AppHandler = ({ ch, arg }) => {
  const [when, cause] = separateString(arg, 2);
  const secs = int((when ?? '').replace(/^\+/, ''));
  ch.later(ch.scaled(secs * 1000), () => ch.hangup(parseCause(cause)));
};

/** sched_transfer [+]<time> <extension> [<dialplan>] [<context>]: a core scheduler task (mod_dptools). */
const schedTransfer: AppHandler = ({ ch, arg }) => {
  const [when, extension, dialplan, context] = separateString(arg, 4);
  if (!when || !extension) return; // "Invalid Args"
  const runtime = when.startsWith('+') ? Math.floor(Date.now() / 1000) + int(when.slice(1)) : int(when);
  ch.setVar('last_sched_id', String(ch.scheduleTransfer(runtime, extension, dialplan || undefined, context || undefined)));
};

const noop: AppHandler = () => undefined;

export const BUILTIN_APPS: Readonly<Record<string, AppHandler>> = {
  answer: ({ ch }) => ch.answer(),
  pre_answer: ({ ch }) => ch.preAnswer(),
  ring_ready: ({ ch }) => ch.ringReady(),
  playback: playback,
  play_and_get_digits: playAndGetDigits,
  read,
  sleep,
  set,
  export: exportApp,
  unset,
  multiset,
  hangup,
  respond,
  transfer,
  execute_extension: executeExtension,
  bridge,
  voicemail,
  // The channel is already under control (parked/socket): switch_ivr_park returns at once.
  park: noop,
  log,
  info,
  echo,
  sched_hangup: schedHangup,
  sched_transfer: schedTransfer,
  event: noop,
  send_display: noop,
  record_session: noop,
  stop_record_session: noop,
};
