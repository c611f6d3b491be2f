import type { Database } from 'better-sqlite3';
import type { Category, PolicyAction } from '../engine/types';
import { AuditTrail } from './audit';
import { bumpGeneration } from './generation';

export interface PolicyRow {
  readonly scope: string;
  readonly category: Category;
  readonly action: PolicyAction;
  readonly when: string | null;
  readonly tz: string | null;
}

const COLUMNS = 'scope, category, action, when_text AS "when", tz';

/** Category policies, per tenant or global. */
export class CategoryStore {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Database,
    actor = 'system',
  ) {
    this.audit = new AuditTrail(db, actor);
  }

  /** A policy, optionally only within a time window (checked by the caller). */
  set(scope: string, category: Category, action: PolicyAction, window: { when: string; tz: string } | null = null, now = Date.now()): void {
    this.db.transaction(() => {
      const before = this.get(scope, category);
      this.db
        .prepare(
          `INSERT INTO category_policies (scope, category, action, when_text, tz, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (scope, category) DO UPDATE SET action = excluded.action, when_text = excluded.when_text, tz = excluded.tz, updated_at = excluded.updated_at`,
        )
        .run(scope, category, action, window?.when ?? null, window?.tz ?? null, now);
      this.audit.record(before ? 'change' : 'add', 'category', `${scope} ${category}`, before ?? null, { scope, category, action, when: window?.when ?? null, tz: window?.tz ?? null });
      bumpGeneration(this.db);
    }).immediate();
  }

  /** Removes a policy (the category falls back to the global one, or is allowed); false when there was none. */
  remove(scope: string, category: Category): boolean {
    return this.db.transaction(() => {
      const before = this.get(scope, category);
      if (!before) return false;
      this.db.prepare('DELETE FROM category_policies WHERE scope = ? AND category = ?').run(scope, category);
      this.audit.record('remove', 'category', `${scope} ${category}`, before, null);
      bumpGeneration(this.db);
      return true;
    }).immediate();
  }

  get(scope: string, category: Category): PolicyRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM category_policies WHERE scope = ? AND category = ?`).get(scope, category) as PolicyRow | undefined;
  }

  /** The policies of these scopes only (e.g. global and one tenant's). */
  inScopes(scopes: readonly string[]): PolicyRow[] {
    if (scopes.length === 0) return [];
    return this.db.prepare(`SELECT ${COLUMNS} FROM category_policies WHERE scope IN (${scopes.map(() => '?').join(', ')}) ORDER BY scope, category`).all(...scopes) as PolicyRow[];
  }

  list(): PolicyRow[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM category_policies ORDER BY scope, category`).all() as PolicyRow[];
  }
}
