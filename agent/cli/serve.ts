import type { Command } from 'commander';
import type { ActionSettings } from '../actions/settings';
import { callerIdSettings } from '../config/caller-ids';
import type { CallerIdSettings } from '../config/caller-ids';
import { loadConfig } from '../config/load';
import type { AgentConfig } from '../config/schema';
import { parseHostPort } from '../config/host-port';
import { pbxConnections } from '../config/pbx-list';
import type { PbxConnection } from '../config/pbx-list';
import { BadInput } from '../engine/bad-input';
import { createLogger } from '../log/logger';
import type { Logger } from '../log/logger';
import { createAsteriskDriver } from '../pbx/asterisk/asterisk-driver';
import type { PbxDriver } from '../pbx/driver';
import { PbxGroup } from '../pbx/pbx-group';
import { FreeSwitchInboundClient } from '../pbx/freeswitch/inbound-client';
import { FreeSwitchOutboundServer } from '../pbx/freeswitch/outbound-server';
import { reputationBudgetMs } from '../screening/decision-limit';
import { ReputationClient } from '../screening/reputation';
import type { SourceReport } from '../screening/reputation-health';
import { Screener } from '../screening/screener';
import { openAgentStore } from '../store/agent-store';
import type { AgentStore } from '../store/agent-store';
import { CallLogQueries } from '../store/call-log-queries';
import { isDatabaseWritable } from '../http/database-writable';
import { createHookServer } from '../http/hook-server';
import type { HookServer } from '../http/hook-server';
import { Metrics } from '../metrics/metrics';
import { cliActing } from '../operations/acting';
import { blockLastCaller } from '../operations/block-caller';
import type { BlockLastStores } from '../operations/block-caller';
import { recordOutboundCall } from '../operations/called-numbers';
import { postgresBackends, sqliteBackends } from '../operations/store-backends';
import type { StoreBackends } from '../operations/store-backends';
import { FleetLastCall } from '../store/postgres/fleet-last-call';
import { SqliteCallLogBackend } from '../store/sqlite-call-log-backend';
import { SqliteOutboundCallBackend } from '../store/sqlite-outbound-call-backend';
import { startConsole } from '../api/console-server';
import type { RunningConsole } from '../api/console-server';
import { withContext } from './action';
import type { CliContext } from './context';

const PRUNE_EVERY_MS = 60 * 60_000;

/** The HTTP hook beside the driver: verdicts, stats, health, metrics, block-last and outbound calls. */
function createHook(
  config: AgentConfig,
  parts: { ctx: CliContext; store: AgentStore; backends: StoreBackends; screener: Screener; metrics: Metrics; driver: PbxGroup; logger: Logger; callerIds: CallerIdSettings },
): HookServer {
  const { ctx, store, backends, screener, metrics, driver, logger } = parts;
  const db = store.db;
  // With PostgreSQL the counters are this agent's own calls (its local log): the fleet's are in PostgreSQL.
  const queries = new CallLogQueries(db);
  const actor = `http:${config.http.tokenName}`;
  const own = new SqliteCallLogBackend(db, actor);
  // With PostgreSQL the rule goes there, for every agent (one written into the local copy would be overwritten by
  // PostgreSQL's next change), and the newest call is the fleet's or this agent's own not yet shipped.
  const fleet = backends.as(actor);
  const blockLast: BlockLastStores = store.postgres ? { calls: new FleetLastCall(own, fleet.calls), rules: fleet.rules } : fleet;
  return createHookServer(
    { ...parseHostPort(config.http.listen), token: config.http.token, tokenName: '--http-token or CALLGUARD_HTTP_TOKEN' },
    {
      screener,
      queries,
      metrics,
      logger,
      health: () => ({ pbxConnected: driver.connected, pbxes: driver.states(), databaseWritable: isDatabaseWritable(db), store: store.status(), reputation: reputationHealth(store, screener) }),
      blockLast: (did) => blockLastCaller(blockLast, cliActing(actor), did, ctx.country),
      // With PostgreSQL the row goes there, and reaches every agent's local copy (a callback may come in through another switch).
      recordCall: (input) => recordOutboundCall(fleet.outboundCalls, input, ctx.country),
      attestationWords: parts.callerIds.attestationWords,
    },
  );
}
const STOP_GRACE_MS = 10_000;

/** Each reputation source configured now, as this agent's lookups found it. */
function reputationHealth(store: AgentStore, screener: Screener): SourceReport[] {
  return screener.reputation.health.report(store.decisions.view().reputationSources);
}

interface ServeFlags {
  pbx?: string;
  mode?: string;
  listen?: string;
  esl?: string;
  eslPassword?: string;
  ariUrl?: string;
  ariUser?: string;
  ariPassword?: string;
  app?: string;
  prompts?: string;
  forwardTemplate?: string;
  forwardEndpoint?: string;
  voicemailArg?: string;
  voicemailContext?: string;
  failMode?: string;
  decisionLimit?: string;
  challengeTimeout?: string;
  challengeTries?: string;
  challengeDigit?: string;
  logLevel?: string;
  http?: boolean;
  httpListen?: string;
  httpToken?: string;
  console?: boolean;
  consoleListen?: string;
  pairAs?: string;
}

const wholeNumber = (text: string | undefined) => (text === undefined ? undefined : /^\d+$/.test(text) ? Number(text) : text);

/** The flags as config keys; anything not given is left to the environment, the file and the defaults. */
function flagOverrides(flags: ServeFlags): Record<string, unknown> {
  const prompts = flags.prompts?.replace(/\/+$/, '');
  return {
    pbx: flags.pbx,
    logLevel: flags.logLevel,
    failMode: flags.failMode,
    decisionLimitMs: wholeNumber(flags.decisionLimit),
    'freeswitch.mode': flags.mode,
    'freeswitch.listen': flags.listen,
    'freeswitch.esl': flags.esl,
    'freeswitch.eslPassword': flags.eslPassword,
    'freeswitch.pairAs': flags.pairAs,
    'freeswitch.promptDir': prompts,
    'freeswitch.forwardDialString': flags.forwardTemplate,
    'freeswitch.voicemailArg': flags.voicemailArg,
    'asterisk.url': flags.ariUrl,
    'asterisk.user': flags.ariUser,
    'asterisk.password': flags.ariPassword,
    'asterisk.app': flags.app,
    'asterisk.pairAs': flags.pairAs,
    'asterisk.soundPrefix': prompts === undefined ? undefined : `sound:${prompts}/`,
    'asterisk.forwardEndpoint': flags.forwardEndpoint,
    'asterisk.voicemailContext': flags.voicemailContext,
    'challenge.timeoutMs': wholeNumber(flags.challengeTimeout),
    'challenge.tries': wholeNumber(flags.challengeTries),
    'challenge.digit': flags.challengeDigit,
    'http.enabled': flags.http === false ? false : undefined,
    'http.listen': flags.httpListen,
    'http.token': flags.httpToken,
    'console.enabled': flags.console === false ? false : undefined,
    'console.listen': flags.consoleListen,
  };
}

/** The driver of one PBX connection; its calls are logged with the connection's name. */
function createDriver(connection: PbxConnection, screener: Screener, logger: Logger, callerIds: CallerIdSettings): PbxDriver {
  const actions = { screener: screener.forPbx(connection.name), logger: logger.child({ pbxName: connection.name }) };
  const { attestationWords } = callerIds;
  if (connection.kind === 'asterisk') {
    const { url, user, password, app, pairAs, ...fromConfig } = connection.asterisk;
    const settings = { ...fromConfig, attestationWords };
    if (!password) throw new BadInput('Asterisk needs a password: --ari-password, CALLGUARD_ARI_PASSWORD or asterisk.password');
    return createAsteriskDriver({ url, user, password, app, pairAs, settings }, actions);
  }
  const { mode, listen, esl, eslPassword, pairAs, ...settings } = connection.freeswitch;
  const deps = { ...actions, settings: { ...settings, attestationWords } };
  if (mode === 'outbound') return new FreeSwitchOutboundServer(parseHostPort(listen), deps);
  if (mode === 'inbound') {
    if (!eslPassword) throw new BadInput('inbound mode needs the event-socket password: --esl-password, CALLGUARD_ESL_PASSWORD or freeswitch.eslPassword');
    return new FreeSwitchInboundClient({ ...parseHostPort(esl), password: eslPassword, pairAs }, deps);
  }
  throw new BadInput(`unknown mode "${String(mode ?? '')}": expected --mode outbound or --mode inbound`);
}

/**
 * What the faces beside the agent (the console, the REST API, block-last) change and read:
 * the store itself. With PostgreSQL that is the fleet's database, never the local copy,
 * which PostgreSQL's next change would overwrite.
 */
function backendsOf(store: AgentStore): StoreBackends {
  return store.postgres ? postgresBackends(store.postgres) : sqliteBackends(store.db);
}

async function serve(ctx: CliContext, flags: ServeFlags): Promise<void> {
  const config = loadConfig(ctx.configFile, process.env, flagOverrides(flags));
  const logger = createLogger(config.logLevel);
  const actions: ActionSettings = { challenge: config.challenge, identify: config.identify, flag: config.flag };
  // A store that cannot be used (PostgreSQL away, its schema too old) stops the agent at once with one line.
  const store = await openAgentStore(ctx.store, ctx.dbPath, () => ctx.db, logger);
  const backends = backendsOf(store);
  const metrics = new Metrics();
  // From the same file the command line reads them from (ctx.callerIds), so explain decides as the agent does.
  const callerIds = callerIdSettings(config, ctx.country);
  const screener = new Screener(
    store.decisions,
    store.log,
    { country: ctx.country, anonymous: callerIds.anonymous, failMode: config.failMode, decisionLimitMs: config.decisionLimitMs, actions },
    logger,
    metrics,
    new ReputationClient({ budgetMs: reputationBudgetMs(config.decisionLimitMs), observer: metrics }),
  );
  metrics.watchReputation(() => reputationHealth(store, screener));
  let driver: PbxGroup | undefined;
  let hook: HookServer | null = null;
  let web: RunningConsole | null = null;
  try {
    // The group makes every driver at once, so a bad setting of any connection stops serve before one is started.
    const members = pbxConnections(config, process.env).map((connection) => ({ name: connection.name, kind: connection.kind, make: () => createDriver(connection, screener, logger, callerIds) }));
    driver = new PbxGroup(members, logger);
    hook = config.http.enabled ? createHook(config, { ctx, store, backends, screener, metrics, driver, logger, callerIds }) : null;
    logger.info({ config }, 'starting');
    await driver.start();
    await hook?.start();
    web = config.console.enabled ? await startConsole(config.console, { store: backends, country: ctx.country, logger, callerIds, reputationHealth: () => reputationHealth(store, screener) }) : null;
  } catch (error) {
    // Bad settings, a wrong password or a port in use: the operator must fix it; exit rather than loop.
    if (!(error instanceof BadInput)) logger.fatal({ err: error }, 'cannot start');
    await hook?.stop();
    await driver?.stop(0);
    await store.close(0);
    throw error;
  }
  const running = driver;
  metrics.watchStore(() => store.status());
  metrics.watchPbxes(() => running.states());
  const pruneOld = async () => {
    try {
      const pruned = new CallLogQueries(store.db).prune();
      if (pruned > 0) logger.info({ pruned }, 'pruned call-log rows past the retention');
      // A fleet's PostgreSQL prunes its outbound calls itself (fleet-housekeeping.ts); the local copy follows.
      const outbound = store.postgres ? 0 : await new SqliteOutboundCallBackend(store.db).prune(Date.now());
      if (outbound > 0) logger.info({ outbound }, 'pruned outbound calls past every callback trust window');
    } catch (error) {
      logger.warn({ err: error }, 'call-log pruning failed; will try again');
    }
  };
  void pruneOld();
  const pruning = setInterval(() => void pruneOld(), PRUNE_EVERY_MS);
  const signal = await untilSignal();
  clearInterval(pruning);
  logger.info({ signal, inProgress: running.inProgress }, 'stopping: no new calls; waiting for calls in progress');
  const deadline = Date.now() + STOP_GRACE_MS;
  // The switches first and at once: each stops taking new calls now, so the dialplan hands them to the other agent of a pair.
  const switchesStopped = running.stop(STOP_GRACE_MS);
  await web?.stop();
  await hook?.stop();
  await switchesStopped;
  // The call-log queue is drained to PostgreSQL within what is left of the same grace.
  await store.close(Math.max(0, deadline - Date.now()));
  logger.info('stopped');
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('screen live calls from FreeSWITCH (event socket) or Asterisk (ARI); settings: flags > CALLGUARD_* > --config file > defaults')
    .option('--pbx <kind>', 'freeswitch or asterisk')
    .option('--mode <mode>', 'FreeSWITCH: outbound (the dialplan connects here) or inbound (callguard connects to FreeSWITCH)')
    .option('--listen <host:port>', 'FreeSWITCH outbound: where to listen (default 127.0.0.1:8084)')
    .option('--esl <host:port>', 'FreeSWITCH inbound: the event socket (default 127.0.0.1:8021)')
    .option('--esl-password <password>', 'FreeSWITCH inbound: event-socket password (better: CALLGUARD_ESL_PASSWORD)')
    .option('--ari-url <url>', 'Asterisk: ARI base URL (default http://127.0.0.1:8088)')
    .option('--ari-user <user>', 'Asterisk: ARI user (default callguard)')
    .option('--ari-password <password>', 'Asterisk: ARI password (better: CALLGUARD_ARI_PASSWORD)')
    .option('--app <name>', 'Asterisk: the Stasis application (default callguard)')
    .option('--pair-as <a|b>', 'one agent of a failover pair: a screens while it is up, b when it is not (FreeSWITCH inbound, Asterisk)')
    .option('--prompts <dir>', 'folder of the callguard-*.wav prompts, as the PBX sees it')
    .option('--forward-template <dial string>', 'FreeSWITCH: dial string for forward, {number} is the target')
    .option('--forward-endpoint <endpoint>', 'Asterisk: endpoint for forward, {number} is the target')
    .option('--voicemail-arg <arg>', 'FreeSWITCH: argument of the voicemail application, {box} is the mailbox')
    .option('--voicemail-context <context>', 'Asterisk: the context voicemail continues in')
    .option('--fail-mode <mode>', 'when no decision can be made: open (let calls through, default) or closed')
    .option('--decision-limit <ms>', 'a decision slower than this follows the fail mode (default 250)')
    .option('--challenge-timeout <ms>', 'how long to wait for the key (default 5000)')
    .option('--challenge-tries <n>', 'how many times to ask (default 2)')
    .option('--challenge-digit <key>', 'the key that lets the caller through (default 1)')
    .option('--log-level <level>', 'fatal, error, warn, info (default), debug or trace')
    .option('--no-http', 'do not start the HTTP hook')
    .option('--http-listen <host:port>', 'where the HTTP hook listens (default 127.0.0.1:8095)')
    .option('--http-token <token>', 'bearer token the hook requires (better: CALLGUARD_HTTP_TOKEN); needed off loopback')
    .option('--no-console', 'do not start the web console and REST API')
    .option('--console-listen <host:port>', 'where the console listens (default 127.0.0.1:8096)')
    .action(withContext(serve));
}

export function untilSignal(): Promise<NodeJS.Signals> {
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
