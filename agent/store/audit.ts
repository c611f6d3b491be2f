import { userInfo } from 'node:os';
import type { Database } from 'better-sqlite3';

export type AuditVerb = 'add' | 'remove' | 'change' | 'import';
export type AuditEntity = 'tenant' | 'did' | 'rule' | 'list' | 'category' | 'protection' | 'carrier' | 'reputation_source' | 'setting' | 'user' | 'token';

export interface AuditRow {
  readonly id: number;
  readonly at: number;
  readonly actor: string;
  readonly verb: AuditVerb;
  readonly entity: AuditEntity;
  readonly key: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** The audit trail's rows, as both databases hold them; the listing adds its WHERE, order and limit. */
export const AUDIT_LIST = 'SELECT id, at, actor, verb, entity, key, before, after FROM audit';

/** An audit row as stored: before and after as JSON text. */
export type StoredAuditRow = Omit<AuditRow, 'before' | 'after'> & { before: string | null; after: string | null };

export const auditRowOf = (row: StoredAuditRow): AuditRow => ({
  ...row,
  before: row.before === null ? null : JSON.parse(row.before),
  after: row.after === null ? null : JSON.parse(row.after),
});

/** Who is changing things from this process's command line. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:${process.env.USER ?? 'unknown'}`;
  }
}

/**
 * The audit trail. Written inside the transaction of the change it records, so a change
 * and its record land together or not at all.
 */
export class AuditTrail {
  constructor(
    private readonly db: Database,
    readonly actor: string,
  ) {}

  record(verb: AuditVerb, entity: AuditEntity, key: string, before: unknown, after: unknown): void {
    this.db
      .prepare('INSERT INTO audit (at, actor, verb, entity, key, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(Date.now(), this.actor, verb, entity, key, before === undefined || before === null ? null : JSON.stringify(before), after === undefined || after === null ? null : JSON.stringify(after));
  }

  list(since: number | undefined, limit = 200): AuditRow[] {
    const rows = this.db.prepare(`${AUDIT_LIST} WHERE at >= ? ORDER BY id DESC LIMIT ?`).all(since ?? 0, limit) as StoredAuditRow[];
    return rows.map(auditRowOf);
  }
}
