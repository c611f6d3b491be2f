import type { Database } from 'better-sqlite3';
import { AuditTrail } from './audit';
import type { AuditRow } from './audit';
import type { AuditReader } from './audit-reader';

/** AuditReader on the SQLite file. */
export class SqliteAuditReader implements AuditReader {
  private readonly trail: AuditTrail;

  constructor(db: Database) {
    this.trail = new AuditTrail(db, 'system'); // only read: it records nothing as anyone
  }

  async list(since: number | undefined, limit?: number): Promise<AuditRow[]> {
    return this.trail.list(since, limit);
  }
}
