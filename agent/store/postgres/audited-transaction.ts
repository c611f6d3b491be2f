import type { Pool, PoolClient } from 'pg';
import type { AuditEntity, AuditVerb } from '../audit';
import { auditEntryOf } from './log-operations';
import { withPooledClient } from './pooled-client';

/** Records one audit entry inside the transaction of the change it describes. */
export type AuditRecorder = (verb: AuditVerb, entity: AuditEntity, key: string, before: unknown, after: unknown) => Promise<void>;

/**
 * Runs `work` in one transaction with the audit trail written inside it (as `actor`), so a
 * change and its record land together or not at all. Every agent hears of the change
 * through the change feed the tables' triggers keep.
 */
export function auditedTransaction<T>(pool: Pool, actor: string, work: (client: PoolClient, audit: AuditRecorder) => Promise<T>): Promise<T> {
  return withPooledClient(pool, async (client) => {
    await client.query('BEGIN'); // a failure closes the connection, which rolls this back
    const result = await work(client, async (verb, entity, key, before, after) => {
      const entry = auditEntryOf(actor, verb, entity, key, before, after);
      await client.query('INSERT INTO audit (uid, at, actor, verb, entity, key, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        entry.uid, entry.at, entry.actor, entry.verb, entry.entity, entry.key, entry.before, entry.after,
      ]);
    });
    await client.query('COMMIT');
    return result;
  });
}
