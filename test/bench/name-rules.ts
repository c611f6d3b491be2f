import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { decide } from '../../agent/engine/decide';
import { parseNameGlob, parseNameWords } from '../../agent/engine/names';
import type { MatchSpec } from '../../agent/engine/patterns';
import { openDatabase } from '../../agent/store/database';
import { SqliteDecisionStore } from '../../agent/store/decision-view';
import { RuleStore } from '../../agent/store/rules';
import type { NewRule } from '../../agent/store/rules';
import { TenantStore } from '../../agent/store/tenants';
import { TENANTS, benchNumber, didOf } from './dataset';
import { printTable, spread, timeUs, us } from './measure';
import type { Row } from './measure';

export const NAME_RULES = 10_000;

const FIRST = ['JOHN', 'MARY', 'JOSE', 'LI', 'FATIMA', 'OLGA', 'AHMED', 'SARAH', 'KENJI', 'ANA', 'PETER', 'CHLOE'];
const LAST = ['SMITH', 'GARCIA', 'NGUYEN', 'MULLER', 'ROSSI', 'KOWALSKI', 'OKAFOR', 'SATO', 'JONES', 'DUBOIS', 'SILVA'];
const SPAMMY = ['V9', 'QX', 'ZR', 'HEALTH', 'WARRANTY', 'CREDIT', 'LOAN', 'TAX', 'SOLAR', 'PRIZE'];

/** The i-th name rule: prefix globs, exact names, `*word*`, two-piece globs and whole words, over global and tenant scopes. */
function nameRule(i: number): NewRule {
  const word = `${SPAMMY[i % SPAMMY.length]}${i}`;
  const kind = i % 10;
  let spec: MatchSpec;
  if (kind < 4) spec = parseNameGlob(`${word}*`);
  else if (kind < 6) spec = parseNameGlob(`${FIRST[i % FIRST.length]} ${word}`);
  else if (kind < 8) spec = parseNameGlob(`*${word}*`);
  else if (kind < 9) spec = parseNameGlob(`${SPAMMY[i % SPAMMY.length]}*${i}`);
  else spec = parseNameWords(`${word} CALL`);
  return { ...spec, scope: i % 10 === 3 ? 'global' : `tenant:t${i % TENANTS}`, action: 'block', target: null, sms: false, note: null, list: null, expiresAt: null };
}

/** The caller name of the i-th call: mostly people, a fifth spammy names some rule catches. */
function callerName(i: number): string {
  if (i % 5 === 0) {
    // A rule of the called tenant (calls go to tenant i % TENANTS): a prefix glob or an exact name.
    const j = (i % TENANTS) + TENANTS * ((i >> 10) % 10);
    const word = `${SPAMMY[j % SPAMMY.length]}${j}`;
    return j % 10 < 4 ? `${word} SERVICES` : `${FIRST[j % FIRST.length]} ${word}`;
  }
  return `${FIRST[i % FIRST.length]} ${LAST[(i >> 2) % LAST.length]}`;
}

/**
 * A decision with 10,000 caller-name rules against the same decision with none (a copy of
 * the database without them), the same calls, each with a caller name, interleaved so both
 * see the same noise.
 */
export function benchNameRules(dbPath: string, dir: string, rounds = 100_000): Row[] {
  const withNames = join(dir, 'names.db');
  const source = openDatabase(dbPath);
  source.prepare('VACUUM INTO ?').run(withNames);
  source.close();
  const named = openDatabase(withNames);
  new RuleStore(named).add(Array.from({ length: NAME_RULES }, (_, i) => nameRule(i)));
  const plain: Database = openDatabase(dbPath);
  const stores = [new SqliteDecisionStore(plain), new SqliteDecisionStore(named)] as const;
  const times: [number[], number[]] = [[], []];
  const blocked = [0, 0];
  const run = (measure: boolean) => {
    for (let i = 0; i < rounds; i++) {
      // Area codes 901-998: no number or prefix rule of the benchmark's matches, so every call reaches the name rules.
      const facts = { kind: 'call' as const, from: `+1${901 + (i % 98)}${2000000 + ((i * 7919) % 7000000)}`, to: didOf(i % TENANTS), callerName: callerName(i) };
      // Alternate which goes first, so neither always finds the other's pages cached.
      for (const which of i % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) {
        let action = '';
        const took = timeUs(() => {
          action = decide(facts, stores[which], { country: 'US', now: Date.now() }).action;
        });
        if (measure) {
          times[which].push(took);
          if (action === 'block') blocked[which]! += 1;
        }
      }
    }
  };
  run(false);
  run(true);
  plain.close();
  named.close();
  rmSync(withNames, { force: true });
  const [without, withRules] = [spread(times[0]), spread(times[1])];
  const ratio = withRules.median / without.median;
  console.log(`name-rule decisions measured: ${rounds.toLocaleString('en-US')} each (blocked: ${blocked[0]} without name rules, ${blocked[1]} with)`);
  return [
    { metric: `decision with ${NAME_RULES.toLocaleString('en-US')} caller-name rules (median)`, measured: us(withRules.median), target: '', baseline: `no name rules ${us(without.median)}`, ok: true },
    { metric: 'decision with name rules, p99', measured: us(withRules.p99), target: '', baseline: `no name rules ${us(without.p99)}`, ok: true },
    { metric: 'name rules ÷ none (medians)', measured: `${ratio.toFixed(2)}×`, target: '≤ 1.2×', baseline: '', ok: ratio <= 1.2 },
  ];
}

/** Alone (`node dist/test/bench/name-rules.js`): on a small temp database of 1,000 tenants and 100,000 number rules. */
if (require.main === module) {
  const dir = mkdtempSync(join(tmpdir(), 'callguard-bench-names-'));
  try {
    const dbPath = join(dir, 'bench.db');
    const db = openDatabase(dbPath);
    const tenants = new TenantStore(db);
    db.transaction(() => {
      for (let t = 0; t < TENANTS; t++) {
        tenants.add(`t${t}`);
        tenants.addDid(didOf(t) as never, `t${t}`);
      }
    })();
    const numbers: NewRule[] = Array.from({ length: 100_000 }, (_, i) => ({
      kind: 'number', key: benchNumber(i), pattern: benchNumber(i), exact: true, span: null,
      scope: i % 10 === 0 ? 'global' : `tenant:t${i % TENANTS}`, action: 'block', target: null, sms: false, note: null, list: null, expiresAt: null,
    }));
    new RuleStore(db).add(numbers);
    db.close();
    const rows = benchNameRules(dbPath, dir, Number(process.argv[2] ?? 50_000));
    printTable(rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
