import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { DEFAULT_ACTION_SETTINGS } from '../actions/settings';
import { parsePattern } from '../engine/patterns';
import type { E164, RuleAction } from '../engine/types';
import { FreeSwitchOutboundServer } from '../pbx/freeswitch/outbound-server';
import { DEFAULT_FREESWITCH } from '../pbx/settings';
import { Screener } from '../screening/screener';
import { CallLog } from '../store/call-log';
import { CallLogQueries } from '../store/call-log-queries';
import type { LogRow } from '../store/call-log-queries';
import { CategoryStore } from '../store/categories';
import { openDatabase } from '../store/database';
import { SqliteDecisionStore } from '../store/decision-view';
import { ProtectionStore } from '../store/protection';
import { RuleStore } from '../store/rules';
import { TenantStore } from '../store/tenants';
import { cell } from './print';

/** The FreeSWITCH simulator the tests use, shipped in the same build. */
type Simulator = typeof import('../../test/sim/freeswitch');

const DID = '+14045550100';
const PROMPTS: Record<string, string> = {
  'callguard-not-accepted.wav': '"calls from your number are not accepted… goodbye"',
  'callguard-challenge.wav': '"to be connected, please press 1"',
  'callguard-goodbye.wav': '"sorry, we could not connect your call, goodbye"',
  'callguard-not-in-service.wav': 'three rising tones, "the number you have dialed is not in service"',
};

interface SampleCall {
  readonly caller: string;
  readonly who: string;
  readonly digits?: string;
  readonly hangupOn?: string;
  readonly variables?: Record<string, string>;
  readonly bridge?: { answer: true; talkMs: number } | { answer: false; cause: string };
}

const SAMPLE_CALLS: readonly SampleCall[] = [
  { caller: '+12125550147', who: 'an ordinary caller' },
  { caller: '(702) 500-4000', who: 'a number on the block list' },
  { caller: '+13125550100', who: 'someone from 312, challenged, who presses 1', digits: '1' },
  { caller: '+13125550102', who: 'someone from 312 who hangs up at the prompt', hangupOn: 'play_and_get_digits' },
  { caller: '+14155550123', who: 'a number given busy' },
  { caller: '+16175550999', who: 'a known robodialer, sent the disconnected tones' },
  { caller: '+12065550111', who: 'a customer routed to voicemail box 200' },
  { caller: '+14045550188', who: 'a VIP forwarded to a mobile', bridge: { answer: true, talkMs: 5 } },
  { caller: 'anonymous', who: 'a withheld number (anonymous callers are challenged)' },
  { caller: '+14045559876', who: 'a neighbour-spoofed number without attestation: let through, marked' },
  { caller: '+14045554567', who: 'a neighbour-spoofed number that failed STIR/SHAKEN', variables: { sip_verstat: 'TN-Validation-Failed' } },
  { caller: "1'; DROP TABLE rules;--", who: 'a caller ID full of SQL' },
];

function seed(db: ReturnType<typeof openDatabase>): void {
  new TenantStore(db).add('acme');
  new TenantStore(db).addDid(DID as E164, 'acme');
  const rule = (pattern: string, action: RuleAction, target: string | null = null) =>
    new RuleStore(db).add([{ ...parsePattern(pattern, 'US'), scope: 'global', action, target, sms: false, note: 'demo', list: null, expiresAt: null }]);
  rule('702-500-4000', 'block');
  rule('312*', 'challenge');
  rule('+14155550123', 'busy');
  rule('+16175550999', 'disconnected');
  rule('+12065550111', 'voicemail', '200');
  rule('+14045550188', 'forward', '+13105550100');
  new CategoryStore(db).set('global', 'anonymous', 'challenge');
  new CategoryStore(db).set('global', 'invalid', 'block');
  new ProtectionStore(db).set({ scope: 'global', enabled: true, threshold: 60, flagThreshold: 40, action: 'block' });
}

/** What the caller went through, from the applications the switch ran. */
/**
 * The newest call once the log holds `count` calls and it has its outcome: the agent records
 * the outcome when the switch reports the call's end, a moment after the simulator saw it.
 * Gives up after a few seconds and shows what there is.
 */
async function loggedWithOutcome(log: CallLog, queries: CallLogQueries, count: number): Promise<LogRow | undefined> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    log.flush();
    const [row] = queries.list({ limit: 1 });
    if ((row !== undefined && row.id >= count && row.outcome !== null) || Date.now() > deadline) return row;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function heard(result: Awaited<ReturnType<Simulator['FreeSwitchSim']['prototype']['placeOutboundCall']>['done']>): string {
  const parts: string[] = [];
  for (const app of result.apps) {
    if (app.app === 'pre_answer') parts.push('early media');
    else if (app.app === 'answer') parts.push('answered');
    else if (app.app === 'playback' || app.app === 'play_and_get_digits') {
      const file = Object.keys(PROMPTS).find((name) => app.arg.includes(name));
      if (file) parts.push(PROMPTS[file]!);
    } else if (app.app === 'bridge') parts.push(`bridged to ${app.arg.split('/').pop()}`);
    else if (app.app === 'voicemail') parts.push(`voicemail box ${app.arg.split(' ').pop()}`);
    else if (app.app === 'set' && app.arg.startsWith('effective_caller_id_name=')) parts.push(`rings through as "${app.arg.split('=')[1]}"`);
  }
  if (result.outcome === 'continued') parts.push(parts.length ? 'then its normal route' : 'rings through (normal route)');
  if (result.outcome === 'hungup' && result.hangupCause) parts.push(`cleared: ${result.hangupCause}${result.hangupCauseCode !== undefined ? ` (${result.hangupCauseCode})` : ''}`);
  return parts.join(', ');
}

/** `callguard demo`: the whole path, switch included, in one command and a throwaway database. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('place a dozen sample calls through the built-in FreeSWITCH simulator and show what each caller heard, and why')
    .action(async () => {
      const { FreeSwitchSim } = require('../../test/sim/freeswitch') as Simulator;
      const dir = mkdtempSync(join(tmpdir(), 'callguard-demo-'));
      const db = openDatabase(join(dir, 'demo.db'));
      const logger = pino({ level: 'silent' });
      const log = new CallLog(db, { flushMs: 5 });
      const screener = new Screener(new SqliteDecisionStore(db), log, { country: 'US', failMode: 'open', actions: DEFAULT_ACTION_SETTINGS }, logger);
      const server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, { screener, logger, settings: { ...DEFAULT_FREESWITCH, promptDir: '/usr/share/freeswitch/sounds/callguard' } });
      const sim = new FreeSwitchSim({ timeScale: 0.01 });
      try {
        seed(db);
        await server.start();
        console.log(`callguard demo: sample rules loaded; calls to ${DID} (tenant acme) through a simulated FreeSWITCH\n`);
        for (const [i, sample] of SAMPLE_CALLS.entries()) {
          const result = await sim.placeOutboundCall('127.0.0.1', server.port, {
            callerIdNumber: sample.caller,
            callerIdName: 'Demo Caller',
            destinationNumber: DID.slice(1),
            playbackMs: 1,
            async: false,
            ...(sample.digits ? { digits: sample.digits } : {}),
            ...(sample.hangupOn ? { hangupOn: sample.hangupOn } : {}),
            ...(sample.variables ? { variables: sample.variables } : {}),
            ...(sample.bridge ? { bridge: sample.bridge } : {}),
          }).done;
          const row = await loggedWithOutcome(log, new CallLogQueries(db), i + 1);
          console.log(`${String(i + 1).padStart(2)}. ${cell(sample.caller)}: ${sample.who}`);
          console.log(`    decided: ${row?.action}${row?.flagged ? ' (flagged)' : ''}${row?.outcome ? `, outcome ${row.outcome}` : ''}`);
          console.log(`    heard:   ${heard(result)}`);
          const why = row?.reasons.filter((reason) => !reason.startsWith('Step 4')).at(-1);
          console.log(`    why:     ${cell(why ?? '')}\n`);
        }
        const counters = new CallLogQueries(db).counters({});
        console.log(`stats: ${counters.total} calls, ${counters.blocked} blocked, ${counters.flagged} flagged, ${counters.legitimate} legitimate, ${counters.challenged} challenged`);
      } finally {
        await server.stop(100);
        await sim.close();
        log.close();
        db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
}
