import type { Pool } from 'pg';
import { withPooledClient } from './pooled-client';

/**
 * Deletes change-feed rows older than `before` (ms since the epoch) and records how far
 * it went (meta changes_pruned_through), so that an agent whose local copy is older
 * than that reloads in full rather than missing what was pruned. Returns rows deleted.
 */
export async function pruneChanges(pool: Pool, before: number): Promise<number> {
  return withPooledClient(pool, async (client) => {
    await client.query('BEGIN'); // a failure closes the connection, which rolls this back
    const { rows } = await client.query<{ through: string | number | null }>('SELECT max(seq) AS through FROM changes WHERE at < $1', [before]);
    const through = rows[0]?.through ?? null;
    let deleted = 0;
    if (through !== null) {
      deleted = (await client.query('DELETE FROM changes WHERE seq <= $1', [through])).rowCount ?? 0;
      await client.query("UPDATE meta SET value = greatest(value, $1) WHERE key = 'changes_pruned_through'", [through]);
    }
    await client.query('COMMIT');
    return deleted;
  });
}
