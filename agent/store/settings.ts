import type { Database } from 'better-sqlite3';
import { AuditTrail } from './audit';
import { bumpGeneration } from './generation';

/** `challenge_remember:<scope>` settings: milliseconds a passed challenge counts for (0: off). */
export const REMEMBER_PASSES = 'challenge_remember:';

/** `callback_trust:<scope>` settings: milliseconds a number the tenant's users called is trusted for (0: off; none: 30 days). */
export const TRUST_CALLBACKS = 'callback_trust:';

/** Operator settings that are not rules (call-log retention, remembered challenge passes), audited. */
export class SettingsStore {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Database,
    actor = 'system',
  ) {
    this.audit = new AuditTrail(db, actor);
  }

  get(key: string): string | undefined {
    return this.db.prepare('SELECT value FROM settings WHERE key = ?').pluck().get(key) as string | undefined;
  }

  set(key: string, value: string): void {
    this.db.transaction(() => {
      const before = this.get(key);
      this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
      this.audit.record(before === undefined ? 'add' : 'change', 'setting', key, before ?? null, value);
      bumpGeneration(this.db);
    }).immediate();
  }
}
