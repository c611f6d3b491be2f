import type { Database, Statement } from 'better-sqlite3';
import type { CategoryPolicy, DecisionStore, DecisionView, RuleShape } from '../engine/decision-store';
import type { ActiveRule, Category, E164, PolicyAction } from '../engine/types';
import { changeProbe } from './generation';

interface Snapshot {
  readonly shape: RuleShape;
  readonly didTenants: Map<string, string>;
  readonly policies: Map<string, CategoryPolicy>;
  readonly disabledLists: Set<string>;
}

const RULE_COLUMNS = 'id, scope, kind, key, pattern, action, target, sms, span, list, expires_at AS expiresAt, updated_at AS updatedAt';

/**
 * What the decision engine reads, from SQLite. Rules are looked up per call by key
 * (never scanned); the small tables (DIDs, policies, list switches, which prefix
 * lengths exist) are cached and reloaded as soon as any connection changes them.
 */
export class SqliteDecisionStore implements DecisionStore {
  private readonly probe: () => string;
  private readonly byKeys = new Map<number, Statement>();
  private seen = '';
  private snapshot: SnapshotView | undefined;

  constructor(private readonly db: Database) {
    this.probe = changeProbe(db);
  }

  view(): DecisionView {
    const now = this.probe();
    if (!this.snapshot || now !== this.seen) {
      this.snapshot = new SnapshotView(this.load(), this);
      this.seen = now;
    }
    return this.snapshot;
  }

  rulesFor(keys: readonly string[], scopes: readonly string[], now: number, disabledLists: Set<string>): ActiveRule[] {
    if (keys.length === 0) return [];
    const rows = this.statementFor(keys.length).all(...keys) as (Omit<ActiveRule, 'sms'> & { sms: number })[];
    const active: ActiveRule[] = [];
    for (const row of rows) {
      if (!scopes.includes(row.scope)) continue;
      if (row.expiresAt !== null && row.expiresAt <= now) continue;
      if (row.list !== null && disabledLists.has(row.list)) continue;
      active.push({ ...row, sms: row.sms === 1 });
    }
    return active;
  }

  private statementFor(count: number): Statement {
    let statement = this.byKeys.get(count);
    if (!statement) {
      const placeholders = count === 1 ? '= ?' : `IN (${Array.from({ length: count }, () => '?').join(', ')})`;
      statement = this.db.prepare(`SELECT ${RULE_COLUMNS} FROM rules WHERE key ${placeholders}`);
      this.byKeys.set(count, statement);
    }
    return statement;
  }

  private load(): Snapshot {
    const shapeRows = this.db
      .prepare("SELECT DISTINCT kind, span FROM rules WHERE kind <> 'number'")
      .all() as { kind: string; span: number | null }[];
    const prefixLengths = new Set<number>();
    const networkBits = new Set<number>();
    for (const { kind, span } of shapeRows) {
      if (kind === 'prefix' && span !== null) prefixLengths.add(span + 1);
      if (kind === 'ip' && span !== null) networkBits.add(span);
    }
    const didTenants = new Map(
      (this.db.prepare('SELECT number, tenant FROM dids').all() as { number: string; tenant: string }[]).map((row) => [row.number, row.tenant]),
    );
    const policies = new Map(
      (this.db.prepare('SELECT scope, category, action FROM category_policies').all() as { scope: string; category: string; action: PolicyAction }[]).map(
        (row) => [`${row.scope}|${row.category}`, { action: row.action, scope: row.scope }],
      ),
    );
    const disabledLists = new Set(this.db.prepare('SELECT name FROM lists WHERE enabled = 0').pluck().all() as string[]);
    return {
      shape: {
        prefixLengths: [...prefixLengths].sort((a, b) => a - b),
        networkBits: [...networkBits].sort((a, b) => a - b),
        hasSip: shapeRows.some((row) => row.kind === 'sip'),
        hasAnonymous: shapeRows.some((row) => row.kind === 'anonymous'),
      },
      didTenants,
      policies,
      disabledLists,
    };
  }
}

/** The cached small tables, plus per-call rule lookups through the live connection. */
class SnapshotView implements DecisionView {
  readonly shape: RuleShape;

  constructor(private readonly snapshot: Snapshot, private readonly store: SqliteDecisionStore) {
    this.shape = snapshot.shape;
  }

  tenantOfDid(did: E164): string {
    return this.snapshot.didTenants.get(did) ?? 'default';
  }

  categoryPolicy(tenant: string, category: Category): CategoryPolicy | null {
    const { policies } = this.snapshot;
    return policies.get(`tenant:${tenant}|${category}`) ?? policies.get(`global|${category}`) ?? null;
  }

  rulesFor(keys: readonly string[], scopes: readonly string[], now: number): readonly ActiveRule[] {
    return this.store.rulesFor(keys, scopes, now, this.snapshot.disabledLists);
  }
}
