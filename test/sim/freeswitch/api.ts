// API commands (api/bgapi and ${api args} expansion), with mod_commands'
// argument splitting and reply texts. Unknown commands return undefined;
// the caller turns that into "-ERR <cmd> Command not found!".

import type { SimChannel } from './channel';
import { parseCause } from './causes';
import { localStamp } from './events';
import { separateString } from './expand';
import type { SimScheduler } from './scheduler';

export interface ApiHost {
  liveCalls(): SimChannel[];
  findCall(uuid: string): SimChannel | undefined;
  readonly globals: Map<string, string>;
  readonly startedAt: number;
  readonly hostname: string;
  sessionsSinceStartup(): number;
  /** Extra API commands a test registered. */
  readonly extraApis: Map<string, (args: string, from: SimChannel | undefined) => string>;
  readonly scheduler: SimScheduler;
}

const NO_CHANNEL = '-ERR No such channel!\n';

export const FS_VERSION = '1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit';

export function runApi(host: ApiHost, name: string, args: string, from?: SimChannel): string | undefined {
  const extra = host.extraApis.get(name.toLowerCase());
  if (extra) return extra(args, from);
  switch (name.toLowerCase()) {
    case 'status':
      return status(host);
    case 'version':
      return `FreeSWITCH Version 1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit (git a88d069 2024-08-02 21:02:27Z 64bit)\n`;
    case 'hostname':
      return host.hostname;
    case 'echo':
      return args;
    case 'uuid_exists':
      return host.findCall(args.trim()) && !host.findCall(args.trim())!.isDown ? 'true' : 'false';
    case 'uuid_kill': {
      const sp = args.indexOf(' ');
      const uuid = sp >= 0 ? args.slice(0, sp) : args;
      if (!uuid) return '-USAGE: <uuid> [cause]\n';
      const ch = live(host, uuid);
      if (!ch) return NO_CHANNEL;
      ch.hangup(parseCause(sp >= 0 ? args.slice(sp + 1) : ''));
      return '+OK\n';
    }
    case 'uuid_setvar': {
      const a = separateString(args, 3);
      if ((a.length !== 2 && a.length !== 3) || !a[0]) return '-USAGE: <uuid> <var> [value]\n';
      const ch = live(host, a[0]);
      if (!ch) return NO_CHANNEL;
      if (!a[1]) return '-ERR No variable specified\n';
      ch.setVar(a[1], a[2]);
      return '+OK\n';
    }
    case 'uuid_getvar': {
      const a = separateString(args, 4);
      if (a.length < 2 || !a[0]) return '-USAGE: <uuid> <var>\n';
      const ch = live(host, a[0]);
      if (!ch) return NO_CHANNEL;
      if (!a[1]) return '-ERR No variable name specified!\n';
      return ch.lookup(a[1]) ?? '_undef_';
    }
    case 'uuid_transfer': {
      const a = separateString(args, 5);
      if (a.length < 2) return '-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n';
      const ch = live(host, a[0]!);
      if (!ch) return NO_CHANNEL;
      let [, dest, dp, ctx] = a;
      if (dest?.startsWith('-')) [, , dest, dp, ctx] = a;
      if (!dest) return '-ERR\n';
      return ch.transfer(dest, dp || undefined, ctx || undefined, 'uuid_transfer') ? '+OK\n' : '-ERR\n';
    }
    case 'uuid_answer': {
      const ch = live(host, args.trim());
      if (!ch) return '-ERROR\n';
      ch.answer();
      return '+OK\n';
    }
    case 'uuid_pre_answer': {
      const ch = live(host, args.trim());
      if (!ch) return '-ERROR\n';
      ch.preAnswer();
      return '+OK\n';
    }
    case 'uuid_break': {
      const ch = live(host, args.split(' ')[0] ?? '');
      if (!ch) return NO_CHANNEL;
      ch.breakApplication();
      return '+OK\n';
    }
    case 'uuid_broadcast': {
      const a = separateString(args, 4);
      if (a.length < 2) return '-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n';
      const ch = live(host, a[0]!);
      if (!ch) return '-ERR invalid uuid\n';
      const path = a[1]!;
      const sep = path.indexOf('::');
      if (sep >= 0) {
        const rest = path.slice(sep + 2);
        const sp = rest.indexOf(' ');
        void ch.execute({ app: sp >= 0 ? rest.slice(0, sp) : rest, arg: sp >= 0 ? rest.slice(sp + 1) : '' });
      } else {
        void ch.execute({ app: 'playback', arg: path });
      }
      return '+OK Message sent\n';
    }
    case 'hupall': {
      const [cause, varName, varValue] = separateString(args, 3);
      const c = parseCause(cause);
      for (const ch of host.liveCalls()) {
        if (varName && ch.getVar(varName) !== varValue) continue;
        ch.hangup(c);
      }
      return `+OK hangup all channels with cause ${c.name}\n`;
    }
    case 'global_getvar':
      return args ? (host.globals.get(args.trim()) ?? '') : [...host.globals].map(([k, v]) => `${k}=${v}`).join('\n');
    case 'global_setvar': {
      const eq = args.indexOf('=');
      if (eq < 0) return '-USAGE: <var>=<value>\n';
      host.globals.set(args.slice(0, eq).trim(), args.slice(eq + 1).trim());
      return '+OK';
    }
    case 'show':
      return show(host, args);
    case 'sched_del': {
      const target = args.trim();
      if (!target) return '-ERR Invalid syntax\n';
      const deleted = /^\d+$/.test(target) ? host.scheduler.deleteId(Number(target)) : host.scheduler.deleteGroup(target);
      return `+OK Deleted: ${deleted}\n`;
    }
    case 'strepoch':
      return String(args.trim() ? Math.floor(Date.parse(args.trim()) / 1000) || 0 : Math.floor(Date.now() / 1000));
    case 'cond':
      return cond(args);
    default:
      return undefined;
  }
}

/**
 * mod_commands' cond: `<a> <op> <b> ? <true> [: <false>]`. The operator must be followed by
 * a space and each operand by a space; numbers compare as numbers, other text by its
 * length (== and != compare the text itself). Anything it cannot parse, an empty operand
 * included (`1700000000 <  ? yes : no`), gives "-ERR".
 */
function cond(args: string): string {
  const match = /^('(?:[^'\\]|\\.)*'|[^ ]+) +(==|!=|>=|<=|>|<) +('(?:[^'\\]|\\.)*'|[^ ?][^ ]*) +\?(.*)$/.exec(args);
  if (!match) return '-ERR';
  const [, rawA, op, rawB, branches] = match as unknown as [string, string, string, string, string];
  const side = (raw: string) => {
    const quoted = raw.startsWith("'");
    const text = quoted ? raw.slice(1, -1) : raw;
    const numeric = !quoted && /^[-+]?(\d+\.?\d*|\.\d+)$/.test(text);
    return { text, numeric, value: numeric ? Number(text) : text.length };
  };
  const a = side(rawA);
  const b = side(rawB);
  const byText = !a.numeric && !b.numeric;
  const truth = {
    '==': byText ? a.text === b.text : a.value === b.value,
    '!=': byText ? a.text !== b.text : a.value !== b.value,
    '>': a.value > b.value,
    '>=': a.value >= b.value,
    '<': a.value < b.value,
    '<=': a.value <= b.value,
  }[op as '==' | '!=' | '>' | '>=' | '<' | '<='];
  const colon = branches.indexOf(':');
  const whenTrue = (colon < 0 ? branches : branches.slice(0, colon)).trim();
  const whenFalse = colon < 0 ? '' : branches.slice(colon + 1).trim();
  return truth ? whenTrue : whenFalse;
}

function live(host: ApiHost, uuid: string): SimChannel | undefined {
  const ch = host.findCall(uuid);
  return ch && !(ch.isDown && ch.outcome) ? ch : undefined;
}

function status(host: ApiHost): string {
  let ms = Date.now() - host.startedAt;
  const s = Math.floor(ms / 1000);
  ms %= 1000;
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  const calls = host.liveCalls().length;
  return (
    `UP ${plural(0, 'year')}, ${plural(Math.floor(s / 86400), 'day')}, ${plural(Math.floor(s / 3600) % 24, 'hour')}, ` +
    `${plural(Math.floor(s / 60) % 60, 'minute')}, ${plural(s % 60, 'second')}, ${plural(ms, 'millisecond')}, ${plural(0, 'microsecond')}\n` +
    `FreeSWITCH (Version ${FS_VERSION}) is ready\n` +
    `${host.sessionsSinceStartup()} session(s) since startup\n` +
    `${calls} session(s) - peak ${calls}, last 5min ${calls} \n` +
    `0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n` +
    `1000 session(s) max\n` +
    `min idle cpu 0.00/99.00\n` +
    `Current Stack Size/Max 240K/8192K\n`
  );
}

const CHANNEL_COLUMNS = [
  'uuid', 'direction', 'created', 'created_epoch', 'name', 'state', 'cid_name', 'cid_num', 'ip_addr', 'dest',
  'application', 'application_data', 'dialplan', 'context', 'read_codec', 'read_rate', 'read_bit_rate', 'write_codec',
  'write_rate', 'write_bit_rate', 'secure', 'hostname', 'presence_id', 'presence_data', 'accountcode', 'callstate',
  'callee_name', 'callee_num', 'callee_direction', 'call_uuid', 'sent_callee_name', 'sent_callee_num',
  'initial_cid_name', 'initial_cid_num', 'initial_ip_addr', 'initial_dest', 'initial_dialplan', 'initial_context',
] as const;

function show(host: ApiHost, args: string): string {
  const words = args.trim().split(/\s+/);
  const what = (words[0] ?? '').toLowerCase();
  if (what !== 'channels' && what !== 'calls') return '-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n';
  const json = words[1]?.toLowerCase() === 'as' && words[2]?.toLowerCase() === 'json';
  const rows = host.liveCalls().map((ch) => {
    const v = ch.variables;
    const created = Math.floor((Date.now() - ch.elapsed()) / 1000);
    const row: Record<(typeof CHANNEL_COLUMNS)[number], string> = {
      uuid: ch.uuid,
      direction: 'inbound',
      created: localStamp(new Date(created * 1000)),
      created_epoch: String(created),
      name: ch.channelName,
      state: 'CS_EXECUTE',
      cid_name: ch.callerIdName,
      cid_num: ch.callerIdNumber,
      ip_addr: ch.networkAddr,
      dest: ch.destinationNumber,
      application: v.current_application ?? '',
      application_data: v.current_application_data ?? '',
      dialplan: ch.dialplan,
      context: ch.context,
      read_codec: 'PCMU',
      read_rate: '8000',
      read_bit_rate: '64000',
      write_codec: 'PCMU',
      write_rate: '8000',
      write_bit_rate: '64000',
      secure: '',
      hostname: host.hostname,
      presence_id: '',
      presence_data: '',
      accountcode: '',
      callstate: ch.state === 'answered' ? 'ACTIVE' : ch.state === 'early' ? 'EARLY' : 'RINGING',
      callee_name: '',
      callee_num: '',
      callee_direction: '',
      call_uuid: ch.uuid,
      sent_callee_name: '',
      sent_callee_num: '',
      initial_cid_name: ch.callerIdName,
      initial_cid_num: ch.callerIdNumber,
      initial_ip_addr: ch.networkAddr,
      initial_dest: ch.destinationNumber,
      initial_dialplan: ch.dialplan,
      initial_context: ch.context,
    };
    return row;
  });
  if (json) return rows.length ? JSON.stringify({ row_count: rows.length, rows }) : JSON.stringify({ row_count: 0 });
  if (!rows.length) return '\n0 total.\n';
  const lines = [CHANNEL_COLUMNS.join(','), ...rows.map((r) => CHANNEL_COLUMNS.map((c) => r[c]).join(','))];
  return `${lines.join('\n')}\n\n${rows.length} total.\n`;
}
