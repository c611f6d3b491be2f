import type { Command } from 'commander';
import { DEFAULT_ACTION_SETTINGS } from '../actions/settings';
import type { ActionSettings } from '../actions/settings';
import { BadInput } from '../engine/bad-input';
import { createLogger } from '../log/logger';
import type { PbxDriver } from '../pbx/driver';
import { createAsteriskDriver } from '../pbx/asterisk/asterisk-driver';
import { FreeSwitchInboundClient } from '../pbx/freeswitch/inbound-client';
import { FreeSwitchOutboundServer } from '../pbx/freeswitch/outbound-server';
import { DEFAULT_ASTERISK, DEFAULT_FREESWITCH } from '../pbx/settings';
import type { FreeSwitchSettings } from '../pbx/settings';
import { Screener } from '../screening/screener';
import type { FailMode } from '../screening/screener';
import { CallLog } from '../store/call-log';
import { CallLogQueries } from '../store/call-log-queries';
import { SqliteDecisionStore } from '../store/decision-view';
import { withContext } from './action';

const PRUNE_EVERY_MS = 60 * 60_000;

interface ServeFlags {
  pbx: string;
  mode?: string;
  listen: string;
  esl: string;
  eslPassword?: string;
  ariUrl: string;
  ariUser: string;
  ariPassword?: string;
  app: string;
  forwardEndpoint?: string;
  voicemailContext?: string;
  prompts?: string;
  forwardTemplate?: string;
  voicemailArg?: string;
  failMode: string;
  challengeTimeout: string;
  challengeTries: string;
  challengeDigit: string;
  logLevel: string;
}

/** `host:port` as typed by an operator. */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  const match = /^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/i.exec(text.trim());
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new BadInput(`bad ${what} "${text}": expected host:port such as 127.0.0.1:8021`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

function wholeNumber(text: string, what: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new BadInput(`bad ${what} "${text}": expected a whole number from ${min} to ${max}`);
  return value;
}

function actionSettings(flags: ServeFlags): ActionSettings {
  if (!/^[0-9*#]$/.test(flags.challengeDigit)) throw new BadInput(`bad challenge digit "${flags.challengeDigit}": expected one key 0-9, * or #`);
  return {
    ...DEFAULT_ACTION_SETTINGS,
    challenge: {
      digit: flags.challengeDigit,
      timeoutMs: wholeNumber(flags.challengeTimeout, 'challenge timeout (ms)', 500, 60_000),
      tries: wholeNumber(flags.challengeTries, 'challenge tries', 1, 5),
    },
  };
}

function freeSwitchSettings(flags: ServeFlags): FreeSwitchSettings {
  return {
    ...DEFAULT_FREESWITCH,
    ...(flags.prompts ? { promptDir: flags.prompts.replace(/\/+$/, '') } : {}),
    ...(flags.forwardTemplate ? { forwardDialString: flags.forwardTemplate } : {}),
    ...(flags.voicemailArg ? { voicemailArg: flags.voicemailArg } : {}),
  };
}

function parseFailMode(text: string): FailMode {
  if (text !== 'open' && text !== 'closed') throw new BadInput(`bad fail mode "${text}": expected open (let calls through) or closed`);
  return text;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('screen live calls from FreeSWITCH (event socket) or Asterisk (ARI)')
    .requiredOption('--pbx <kind>', 'freeswitch or asterisk')
    .option('--mode <mode>', 'FreeSWITCH: outbound (the dialplan connects here) or inbound (callguard connects to FreeSWITCH)')
    .option('--listen <host:port>', 'outbound mode: where to listen', '127.0.0.1:8084')
    .option('--esl <host:port>', 'inbound mode: FreeSWITCH event socket', '127.0.0.1:8021')
    .option('--esl-password <password>', 'inbound mode: event-socket password (else CALLGUARD_ESL_PASSWORD)')
    .option('--ari-url <url>', 'Asterisk: ARI base URL', 'http://127.0.0.1:8088')
    .option('--ari-user <user>', 'Asterisk: ARI user', 'callguard')
    .option('--ari-password <password>', 'Asterisk: ARI password (else CALLGUARD_ARI_PASSWORD)')
    .option('--app <name>', 'Asterisk: the Stasis application the dialplan sends calls to', 'callguard')
    .option('--forward-endpoint <endpoint>', 'Asterisk: endpoint for forward, {number} is the target', DEFAULT_ASTERISK.forwardEndpoint)
    .option('--voicemail-context <context>', 'Asterisk: context voicemail continues in (extension: the mailbox)', DEFAULT_ASTERISK.voicemailContext)
    .option('--prompts <dir>', 'folder of the callguard-*.wav prompts, as the PBX sees it')
    .option('--forward-template <dial string>', 'FreeSWITCH dial string for forward, {number} is the target', DEFAULT_FREESWITCH.forwardDialString)
    .option('--voicemail-arg <arg>', 'argument of the voicemail application, {box} is the mailbox', DEFAULT_FREESWITCH.voicemailArg)
    .option('--fail-mode <mode>', 'when no decision can be made: open (let calls through) or closed', 'open')
    .option('--challenge-timeout <ms>', 'how long to wait for the key', String(DEFAULT_ACTION_SETTINGS.challenge.timeoutMs))
    .option('--challenge-tries <n>', 'how many times to ask', String(DEFAULT_ACTION_SETTINGS.challenge.tries))
    .option('--challenge-digit <key>', 'the key that lets the caller through', DEFAULT_ACTION_SETTINGS.challenge.digit)
    .option('--log-level <level>', 'pino level', process.env.CALLGUARD_LOG_LEVEL ?? 'info')
    .action(
      withContext(async (ctx, flags: ServeFlags) => {
        const logger = createLogger(flags.logLevel);
        const actions = actionSettings(flags);
        const failMode = parseFailMode(flags.failMode);
        if (flags.pbx !== 'freeswitch' && flags.pbx !== 'asterisk') throw new BadInput(`unknown PBX "${flags.pbx}": expected freeswitch or asterisk`);
        const db = ctx.db;
        // The agent never waits on a lock: decisions only read (WAL), and the call log retries its batch.
        db.pragma('busy_timeout = 0');
        const log = new CallLog(db);
        const screener = new Screener(new SqliteDecisionStore(db), log, { country: ctx.country, failMode, actions }, logger);
        let driver: PbxDriver;
        const deps = { screener, logger, settings: freeSwitchSettings(flags) };
        if (flags.pbx === 'asterisk') {
          const password = flags.ariPassword ?? process.env.CALLGUARD_ARI_PASSWORD;
          if (!password) throw new BadInput('Asterisk needs --ari-password (or CALLGUARD_ARI_PASSWORD)');
          const settings = {
            ...DEFAULT_ASTERISK,
            ...(flags.prompts ? { soundPrefix: `sound:${flags.prompts.replace(/\/+$/, '')}/` } : {}),
            ...(flags.forwardEndpoint ? { forwardEndpoint: flags.forwardEndpoint } : {}),
            ...(flags.voicemailContext ? { voicemailContext: flags.voicemailContext } : {}),
          };
          driver = createAsteriskDriver({ url: flags.ariUrl, user: flags.ariUser, password, app: flags.app, settings }, { screener, logger });
        } else if (flags.mode === 'outbound') {
          driver = new FreeSwitchOutboundServer(parseHostPort(flags.listen, '--listen'), deps);
        } else if (flags.mode === 'inbound') {
          const password = flags.eslPassword ?? process.env.CALLGUARD_ESL_PASSWORD;
          if (!password) throw new BadInput('inbound mode needs --esl-password (or CALLGUARD_ESL_PASSWORD)');
          driver = new FreeSwitchInboundClient({ ...parseHostPort(flags.esl, '--esl'), password }, deps);
        } else {
          throw new BadInput(`unknown mode "${flags.mode ?? ''}": expected --mode outbound or --mode inbound`);
        }
        try {
          await driver.start();
        } catch (error) {
          // A wrong password or a port in use: the operator must fix it; exit 1 rather than loop.
          logger.fatal({ err: error }, 'cannot start');
          log.close();
          throw error;
        }
        const pruneOld = () => {
          try {
            const pruned = new CallLogQueries(db).prune();
            if (pruned > 0) logger.info({ pruned }, 'pruned call-log rows past the retention');
          } catch (error) {
            logger.warn({ err: error }, 'call-log pruning failed; will try again');
          }
        };
        pruneOld();
        const pruning = setInterval(pruneOld, PRUNE_EVERY_MS);
        await untilSignal();
        clearInterval(pruning);
        logger.info({ inProgress: driver.inProgress }, 'stopping: no new calls; waiting for calls in progress');
        await driver.stop();
        log.close();
        logger.info('stopped');
      }),
    );
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', done);
      process.off('SIGINT', done);
      resolve(signal);
    };
    process.on('SIGTERM', done);
    process.on('SIGINT', done);
  });
}
