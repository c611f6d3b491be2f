import type { Database } from 'better-sqlite3';
import type { Category, PolicyAction } from '../engine/types';
import type { CategoryBackend } from './category-backend';
import { CategoryStore } from './categories';
import type { PolicyRow } from './categories';

/** CategoryBackend on the SQLite file; each method does its work without yielding. */
export class SqliteCategoryBackend implements CategoryBackend {
  private readonly store: CategoryStore;

  constructor(db: Database, actor: string) {
    this.store = new CategoryStore(db, actor);
  }

  async inScopes(scopes: readonly string[]): Promise<PolicyRow[]> {
    return this.store.inScopes(scopes);
  }

  async list(): Promise<PolicyRow[]> {
    return this.store.list();
  }

  async set(scope: string, category: Category, action: PolicyAction, window: { when: string; tz: string } | null, now: number): Promise<void> {
    this.store.set(scope, category, action, window, now);
  }

  async remove(scope: string, category: Category): Promise<boolean> {
    return this.store.remove(scope, category);
  }
}
