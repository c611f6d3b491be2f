import type { Pool } from 'pg';
import { AUDIT_LIST, auditRowOf } from '../audit';
import type { AuditRow, StoredAuditRow } from '../audit';
import type { AuditReader } from '../audit-reader';

/** AuditReader on a fleet's PostgreSQL: the changes made through any agent or command line (the uid column is the queue's, not shown). */
export class PostgresAuditReader implements AuditReader {
  constructor(private readonly pool: Pool) {}

  async list(since: number | undefined, limit = 200): Promise<AuditRow[]> {
    const { rows } = await this.pool.query<StoredAuditRow>(`${AUDIT_LIST} WHERE at >= $1 ORDER BY id DESC LIMIT $2`, [since ?? 0, limit]);
    return rows.map(auditRowOf);
  }
}
