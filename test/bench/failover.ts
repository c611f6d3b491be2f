import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_ACTION_SETTINGS } from '../../agent/actions/settings';
import { CONFIG_DEFAULTS } from '../../agent/config/schema';
import { ReputationClient } from '../../agent/screening/reputation';
import { Screener } from '../../agent/screening/screener';
import { CallLog } from '../../agent/store/call-log';
import { openDatabase } from '../../agent/store/database';
import { SqliteDecisionStore } from '../../agent/store/decision-view';
import { ProtectionStore } from '../../agent/store/protection';
import { SqliteReputationBackend } from '../../agent/store/sqlite-reputation-backend';
import { spread } from './measure';
import type { Row } from './measure';

const SAMPLES = 40;

/**
 * How soon after its limit a decision that cannot finish falls back to the fail mode: the
 * screener waits on a reputation service that never answers, with the default limit. The
 * tests only check that the limit, and nothing else, ended the wait; this is the figure.
 */
export async function benchFailover(dbPath: string): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'callguard-bench-failover-'));
  const hanging = createServer(() => undefined);
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  const copy = join(dir, 'failover.db');
  copyFileSync(dbPath, copy);
  const db = openDatabase(copy);
  const log = new CallLog(db, { flushMs: 50 });
  try {
    const protection = new ProtectionStore(db);
    protection.set({ scope: 'global', enabled: true, threshold: 90, flagThreshold: null, action: 'block' });
    await new SqliteReputationBackend(db, 'bench').add({ name: 'hanging', url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/{number}`, timeoutMs: 10_000, weight: 0.5 }, null);
    const limit = CONFIG_DEFAULTS.decisionLimitMs;
    // A client that may wait past the limit (an agent's never does), so that every decision falls back.
    const reputation = new ReputationClient({ budgetMs: 10_000 });
    const screener = new Screener(new SqliteDecisionStore(db), log, { country: 'US', failMode: 'open', actions: DEFAULT_ACTION_SETTINGS, decisionLimitMs: limit }, pino({ level: 'silent' }), null, reputation);
    const late: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const start = process.hrtime.bigint();
      const { decision } = await screener.decide({ kind: 'call', from: `+1904555${1000 + i}`, to: '15551230000' });
      if (!decision.reasons[0]?.startsWith('No decision could be made')) throw new Error(`expected a fallback, got ${decision.reasons[0]}`);
      late.push(Number(process.hrtime.bigint() - start) / 1e6 - limit);
    }
    const { median, p99 } = spread(late);
    return [{ metric: 'fail mode: a decision past its limit falls back after the limit +', measured: `${median.toFixed(1)} ms (p99 ${p99.toFixed(1)})`, target: '≤ 100 ms (p99)', baseline: `limit ${limit} ms`, ok: p99 <= 100 }];
  } finally {
    log.close();
    db.close();
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}
