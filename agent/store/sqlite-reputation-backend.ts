import type { Database } from 'better-sqlite3';
import type { ReputationSource } from '../engine/decision-store';
import { AuditTrail } from './audit';
import { changeDecisionTables } from './generation';
import { SOURCE_COLUMNS, duplicateSource, renumbered, reordered } from './reputation-backend';
import type { ReputationBackend, ReputationSourceRow } from './reputation-backend';

/** ReputationBackend on the SQLite file; each write one IMMEDIATE transaction that also tells readers (the generation). */
export class SqliteReputationBackend implements ReputationBackend {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Database,
    actor: string,
  ) {
    this.audit = new AuditTrail(db, actor);
  }

  async sources(): Promise<ReputationSourceRow[]> {
    return this.all();
  }

  async add(source: ReputationSource, position: number | null): Promise<ReputationSourceRow> {
    return this.write(() => {
      const rows = this.all();
      if (rows.some((row) => row.name === source.name)) throw duplicateSource(source.name);
      const changed = reordered(rows, source, position);
      const added = changed.find((row) => row.name === source.name)!;
      this.place(changed.filter((row) => row !== added));
      this.db
        .prepare('INSERT INTO reputation_sources (name, position, url, timeout_ms, weight, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(added.name, added.position, added.url, added.timeoutMs, added.weight, Date.now());
      this.audit.record('add', 'reputation_source', added.name, null, added);
      return added;
    });
  }

  async remove(name: string): Promise<ReputationSourceRow | undefined> {
    return this.write(() => {
      const rows = this.all();
      const removed = rows.find((row) => row.name === name);
      if (!removed) return undefined;
      this.db.prepare('DELETE FROM reputation_sources WHERE name = ?').run(name);
      this.place(renumbered(rows.filter((row) => row !== removed)));
      this.audit.record('remove', 'reputation_source', name, removed, null);
      return removed;
    });
  }

  async move(name: string, position: number): Promise<ReputationSourceRow | undefined> {
    return this.write(() => {
      const rows = this.all();
      const moving = rows.find((row) => row.name === name);
      if (!moving) return undefined;
      const changed = reordered(rows, moving, position);
      this.place(changed);
      const now = changed.find((row) => row.name === name) ?? moving;
      if (now.position !== moving.position) this.audit.record('change', 'reputation_source', name, { position: moving.position }, { position: now.position });
      return now;
    });
  }

  private all(): ReputationSourceRow[] {
    return this.db.prepare(`SELECT ${SOURCE_COLUMNS} FROM reputation_sources ORDER BY position, name`).all() as ReputationSourceRow[];
  }

  private place(rows: readonly ReputationSourceRow[]): void {
    const update = this.db.prepare('UPDATE reputation_sources SET position = ? WHERE name = ?');
    for (const row of rows) update.run(row.position, row.name);
  }

  private write<T>(work: () => T): T {
    return changeDecisionTables(this.db, work);
  }
}
