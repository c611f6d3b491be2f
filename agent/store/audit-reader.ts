import type { AuditRow } from './audit';

/** The audit trail as `callguard audit` and the API read it, on either backend (each writer records its own). */
export interface AuditReader {
  /** Newest first (by id), from `since` (epoch ms; none: from the start), at most `limit` (200 by default). */
  list(since: number | undefined, limit?: number): Promise<AuditRow[]>;
}
