import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { DEFAULT_ACTION_SETTINGS } from '../../agent/actions/settings';
import type { ActionSettings } from '../../agent/actions/settings';
import { parsePattern } from '../../agent/engine/patterns';
import type { RuleAction } from '../../agent/engine/types';
import { CallLog } from '../../agent/store/call-log';
import { openDatabase } from '../../agent/store/database';
import { SqliteDecisionStore } from '../../agent/store/decision-view';
import { RuleStore } from '../../agent/store/rules';
import { Screener } from '../../agent/screening/screener';
import { PATIENCE_MS, until } from './patience';

export { PATIENCE_MS };

/** A database, call log and screener for driver tests; `close()` removes them. */
export interface ScreeningWorld {
  readonly db: Database;
  readonly log: CallLog;
  readonly screener: Screener;
  readonly logger: pino.Logger;
  rule(pattern: string, action: RuleAction, target?: string | null, extra?: { sms?: boolean }): number;
  /** The call log rows, flushed first. */
  calls(): { channel: string; action: string; outcome: string | null; outcome_detail: string | null; caller: string | null; caller_raw: string | null }[];
  close(): void;
}

export function screeningWorld(actions: Partial<ActionSettings> = {}): ScreeningWorld {
  const dir = mkdtempSync(join(tmpdir(), 'callguard-driver-'));
  const db = openDatabase(join(dir, 'test.db'));
  const log = new CallLog(db, { flushMs: 5 });
  const logger = pino({ level: process.env.CALLGUARD_TEST_LOG ?? 'silent' });
  const screener = new Screener(new SqliteDecisionStore(db), log, { country: 'US', failMode: 'open', actions: { ...DEFAULT_ACTION_SETTINGS, ...actions } }, logger);
  const rules = new RuleStore(db);
  return {
    db,
    log,
    screener,
    logger,
    rule(pattern, action, target = null, extra = {}) {
      return rules.add([{ ...parsePattern(pattern, 'US'), scope: 'global', action, target, sms: extra.sms ?? false, note: null, list: null, expiresAt: null }])[0]!;
    },
    calls() {
      log.flush();
      return db.prepare('SELECT channel, action, outcome, outcome_detail, caller, caller_raw FROM calls ORDER BY id').all() as ReturnType<ScreeningWorld['calls']>;
    },
    close() {
      log.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` holds; gives up only after `timeoutMs` (a hang detector: see helpers/patience.ts). */
export async function eventually(check: () => boolean, timeoutMs = PATIENCE_MS, what = 'the condition'): Promise<void> {
  await until(check, what, timeoutMs);
}
