import type { Database } from 'better-sqlite3';
import { BadInput } from '../engine/bad-input';
import { checkScoreSetting } from '../engine/score-settings';
import { AuditTrail } from './audit';
import { changeDecisionTables } from './generation';

export interface ProtectionRow {
  readonly scope: string;
  readonly enabled: boolean;
  readonly threshold: number;
  readonly flagThreshold: number | null;
  readonly action: 'block' | 'challenge' | 'voicemail';
}

export interface CarrierRuleRow {
  readonly id: number;
  readonly scope: string;
  readonly pattern: string;
}

/** A carrier rule's pattern as stored (lower case, trimmed), or bad input: part of a carrier name, 2 to 100 characters. */
export function carrierPattern(pattern: string): string {
  const lower = pattern.trim().toLowerCase();
  if (lower.length < 2 || lower.length > 100 || /[\u0000-\u001f]/.test(lower)) {
    throw new BadInput(`bad carrier pattern "${pattern}": expected part of a carrier name, 2 to 100 characters`);
  }
  return lower;
}

/** The refusal of a carrier rule already in its scope, as either backend words it. */
export function duplicateCarrier(pattern: string, scope: string): BadInput {
  return new BadInput(`carrier rule "${pattern}" already exists in ${scope}`);
}

/** Robocall protection settings, carrier rules and the carrier prefix table. */
export class ProtectionStore {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Database,
    actor = 'system',
  ) {
    this.audit = new AuditTrail(db, actor);
  }

  private write<T>(work: () => T): T {
    return changeDecisionTables(this.db, work);
  }

  get(scope: string): ProtectionRow | undefined {
    const row = this.db.prepare('SELECT scope, enabled, threshold, flag_threshold AS flagThreshold, action FROM protection WHERE scope = ?').get(scope) as
      | (Omit<ProtectionRow, 'enabled'> & { enabled: number })
      | undefined;
    return row && { ...row, enabled: row.enabled === 1 };
  }

  list(): ProtectionRow[] {
    const rows = this.db.prepare('SELECT scope, enabled, threshold, flag_threshold AS flagThreshold, action FROM protection ORDER BY scope').all() as (Omit<ProtectionRow, 'enabled'> & { enabled: number })[];
    return rows.map((row) => ({ ...row, enabled: row.enabled === 1 }));
  }

  set(row: ProtectionRow): void {
    this.write(() => {
      this.audit.record(this.get(row.scope) ? 'change' : 'add', 'protection', row.scope, this.get(row.scope) ?? null, row);
      this.db
        .prepare(
          `INSERT INTO protection (scope, enabled, threshold, flag_threshold, action, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (scope) DO UPDATE SET enabled = excluded.enabled, threshold = excluded.threshold,
             flag_threshold = excluded.flag_threshold, action = excluded.action, updated_at = excluded.updated_at`,
        )
        .run(row.scope, row.enabled ? 1 : 0, row.threshold, row.flagThreshold, row.action, Date.now());
    });
  }

  tune(key: string, value: string): void {
    const stored = checkScoreSetting(key, value);
    this.write(() => {
      const before = this.tuned().get(key) ?? null;
      this.db.prepare('INSERT INTO score_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, stored);
      this.audit.record(before === null ? 'add' : 'change', 'setting', `score.${key}`, before, stored);
    });
  }

  tuned(): Map<string, string> {
    return new Map((this.db.prepare('SELECT key, value FROM score_settings').all() as { key: string; value: string }[]).map((row) => [row.key, row.value]));
  }

  addCarrier(scope: string, pattern: string): number {
    const lower = carrierPattern(pattern);
    return this.write(() => {
      if (this.db.prepare('SELECT 1 FROM carrier_rules WHERE scope = ? AND pattern = ?').get(scope, lower)) {
        throw duplicateCarrier(lower, scope);
      }
      const id = Number(this.db.prepare('INSERT INTO carrier_rules (scope, pattern, created_at) VALUES (?, ?, ?)').run(scope, lower, Date.now()).lastInsertRowid);
      this.audit.record('add', 'carrier', `#${id}`, null, { id, scope, pattern: lower });
      return id;
    });
  }

  carrierById(id: number): CarrierRuleRow | undefined {
    return this.db.prepare('SELECT id, scope, pattern FROM carrier_rules WHERE id = ?').get(id) as CarrierRuleRow | undefined;
  }

  /** Removes carrier rules by id in one transaction; each removal audited. */
  removeCarrierIds(ids: readonly number[]): CarrierRuleRow[] {
    return this.write(() => {
      const remove = this.db.prepare('DELETE FROM carrier_rules WHERE id = ?');
      const removed: CarrierRuleRow[] = [];
      for (const id of ids) {
        const row = this.carrierById(id);
        if (!row) continue;
        remove.run(id);
        this.audit.record('remove', 'carrier', `#${row.id}`, row, null);
        removed.push(row);
      }
      return removed;
    });
  }

  /**
   * The allow list (the protection page's card): the ids of allow rules, in id order,
   * optionally of some scopes only. Filtered here in SQL so that a million block rules
   * are skipped without each becoming an object.
   */
  allowRuleIds(filter: { scopes?: readonly string[] | undefined; afterId?: number | undefined; limit: number }): number[] {
    const where = ["action = 'allow'"];
    const params: (string | number)[] = [];
    if (filter.scopes !== undefined) {
      where.push(filter.scopes.length ? `scope IN (${filter.scopes.map(() => '?').join(', ')})` : '0');
      params.push(...filter.scopes);
    }
    if (filter.afterId !== undefined) {
      where.push('id > ?');
      params.push(filter.afterId);
    }
    return this.db.prepare(`SELECT id FROM rules WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`).pluck().all(...params, filter.limit) as number[];
  }

  carriers(): CarrierRuleRow[] {
    return this.db.prepare('SELECT id, scope, pattern FROM carrier_rules ORDER BY scope, pattern').all() as CarrierRuleRow[];
  }

  /** Replaces the whole prefix table in one transaction (an import is all or nothing). */
  replacePrefixes(rows: Iterable<readonly [prefix: string, carrier: string]>, label = 'carrier prefixes'): number {
    return this.write(() => {
      const before = this.db.prepare('SELECT COUNT(*) FROM carrier_prefixes').pluck().get() as number;
      this.db.prepare('DELETE FROM carrier_prefixes').run();
      const insert = this.db.prepare('INSERT INTO carrier_prefixes (prefix, carrier) VALUES (?, ?) ON CONFLICT (prefix) DO UPDATE SET carrier = excluded.carrier');
      let count = 0;
      for (const [prefix, carrier] of rows) {
        insert.run(prefix, carrier);
        count++;
      }
      this.audit.record('import', 'carrier', label, { prefixes: before }, { prefixes: count });
      return count;
    });
  }
}
