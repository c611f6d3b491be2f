import type { Database } from 'better-sqlite3';
import type { Category, PolicyAction } from '../engine/types';
import { bumpGeneration } from './generation';

export interface PolicyRow {
  readonly scope: string;
  readonly category: Category;
  readonly action: PolicyAction;
}

/** Category policies, per tenant or global. */
export class CategoryStore {
  constructor(private readonly db: Database) {}

  set(scope: string, category: Category, action: PolicyAction): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO category_policies (scope, category, action, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (scope, category) DO UPDATE SET action = excluded.action, updated_at = excluded.updated_at`,
        )
        .run(scope, category, action, Date.now());
      bumpGeneration(this.db);
    }).immediate();
  }

  list(): PolicyRow[] {
    return this.db.prepare('SELECT scope, category, action FROM category_policies ORDER BY scope, category').all() as PolicyRow[];
  }
}
