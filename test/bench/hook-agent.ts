// The HTTP hook in a process of its own, for the benchmark: opens the database named on
// the command line, builds the screener (with metrics, as serve does) and the hook on an
// ephemeral loopback port, prints that port on stdout, and stops cleanly on SIGTERM.
import { blockLastCaller } from '../../agent/operations/block-caller';
import { recordOutboundCall } from '../../agent/operations/called-numbers';
import { SqliteOutboundCallBackend } from '../../agent/store/sqlite-outbound-call-backend';
import { cliActing } from '../../agent/operations/acting';
import { SqliteCallLogBackend } from '../../agent/store/sqlite-call-log-backend';
import { SqliteRuleBackend } from '../../agent/store/sqlite-rule-backend';
import { DEFAULT_ACTION_SETTINGS } from '../../agent/actions/settings';
import { createHookServer } from '../../agent/http/hook-server';
import { createLogger } from '../../agent/log/logger';
import { Metrics } from '../../agent/metrics/metrics';
import { Screener } from '../../agent/screening/screener';
import { CALL_SQL, CallLog } from '../../agent/store/call-log';
import { LogWriter } from '../../agent/store/log-writer';
import { CallLogQueries } from '../../agent/store/call-log-queries';
import { openDatabase } from '../../agent/store/database';
import { SqliteDecisionStore } from '../../agent/store/decision-view';

const dbPath = process.argv[2];
if (!dbPath) throw new Error('usage: node hook-agent.js <database>');
const db = openDatabase(dbPath);
db.pragma('busy_timeout = 0');
const writer = new LogWriter(db.name, CALL_SQL, createLogger('warn'));
const log = new CallLog(db, { writer });
const logger = createLogger('warn');
const metrics = new Metrics();
const screener = new Screener(new SqliteDecisionStore(db), log, { country: 'US', failMode: 'open', actions: DEFAULT_ACTION_SETTINGS }, logger, metrics);
const server = createHookServer(
  { host: '127.0.0.1', port: 0, token: null },
  {
    screener,
    queries: new CallLogQueries(db),
    // Constant, so that /healthz is the benchmark's baseline: the HTTP stack and nothing else.
    health: () => ({ pbxConnected: true, databaseWritable: true }),
    blockLast: (did) => blockLastCaller({ calls: new SqliteCallLogBackend(db, 'bench'), rules: new SqliteRuleBackend(db, 'bench') }, cliActing('bench'), did, 'US'),
    recordCall: (input) => recordOutboundCall(new SqliteOutboundCallBackend(db), input, 'US'),
    metrics,
    logger,
  },
);

process.once('SIGTERM', () => {
  void server
    .stop()
    .then(() => log.close())
    .then(() => writer.stop())
    .finally(() => {
      db.close();
      process.exit(0);
    });
});
void server.start().then(() => process.stdout.write(`${server.port}\n`));
