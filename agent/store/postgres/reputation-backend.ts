import type { Pool, PoolClient } from 'pg';
import type { ReputationSource } from '../../engine/decision-store';
import { SOURCE_COLUMNS, duplicateSource, renumbered, reordered } from '../reputation-backend';
import type { ReputationBackend, ReputationSourceRow } from '../reputation-backend';
import { auditedTransaction } from './audited-transaction';

/**
 * ReputationBackend on a fleet's PostgreSQL: each write and its audit entry in one
 * transaction, the whole list locked first (positions are renumbered), the entries those
 * of SQLite's backend field for field. Every agent hears of a change through the change feed.
 */
export class PostgresReputationBackend implements ReputationBackend {
  constructor(
    private readonly pool: Pool,
    private readonly actor: string,
  ) {}

  async sources(): Promise<ReputationSourceRow[]> {
    return this.all(this.pool);
  }

  add(source: ReputationSource, position: number | null): Promise<ReputationSourceRow> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      await this.lock(client);
      const rows = await this.all(client);
      if (rows.some((row) => row.name === source.name)) throw duplicateSource(source.name);
      const changed = reordered(rows, source, position);
      const added = changed.find((row) => row.name === source.name)!;
      await this.place(client, changed.filter((row) => row !== added));
      await client.query('INSERT INTO reputation_sources (name, position, url, timeout_ms, weight, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
        added.name, added.position, added.url, added.timeoutMs, added.weight, Date.now(),
      ]);
      await audit('add', 'reputation_source', added.name, null, added);
      return added;
    });
  }

  remove(name: string): Promise<ReputationSourceRow | undefined> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      await this.lock(client);
      const rows = await this.all(client);
      const removed = rows.find((row) => row.name === name);
      if (!removed) return undefined;
      await client.query('DELETE FROM reputation_sources WHERE name = $1', [name]);
      await this.place(client, renumbered(rows.filter((row) => row !== removed)));
      await audit('remove', 'reputation_source', name, removed, null);
      return removed;
    });
  }

  move(name: string, position: number): Promise<ReputationSourceRow | undefined> {
    return auditedTransaction(this.pool, this.actor, async (client, audit) => {
      await this.lock(client);
      const rows = await this.all(client);
      const moving = rows.find((row) => row.name === name);
      if (!moving) return undefined;
      const changed = reordered(rows, moving, position);
      await this.place(client, changed);
      const now = changed.find((row) => row.name === name) ?? moving;
      if (now.position !== moving.position) await audit('change', 'reputation_source', name, { position: moving.position }, { position: now.position });
      return now;
    });
  }

  /** One writer of the list at a time: a name taken meanwhile, or positions renumbered twice, would be lost otherwise. */
  private async lock(client: PoolClient): Promise<void> {
    await client.query('LOCK TABLE reputation_sources IN SHARE ROW EXCLUSIVE MODE');
  }

  private async all(on: Pool | PoolClient): Promise<ReputationSourceRow[]> {
    return (await on.query<ReputationSourceRow>(`SELECT ${SOURCE_COLUMNS} FROM reputation_sources ORDER BY position, name COLLATE "C"`)).rows;
  }

  private async place(client: PoolClient, rows: readonly ReputationSourceRow[]): Promise<void> {
    for (const row of rows) await client.query('UPDATE reputation_sources SET position = $1 WHERE name = $2', [row.position, row.name]);
  }
}
