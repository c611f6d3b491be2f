import type { Database } from 'better-sqlite3';
import type { SettingBackend } from './setting-backend';
import { SettingsStore } from './settings';

/** SettingBackend on the SQLite file. */
export class SqliteSettingBackend implements SettingBackend {
  private readonly store: SettingsStore;

  constructor(db: Database, actor: string) {
    this.store = new SettingsStore(db, actor);
  }

  async set(key: string, value: string): Promise<void> {
    this.store.set(key, value);
  }
}
