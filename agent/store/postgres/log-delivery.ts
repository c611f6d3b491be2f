import type { ClientBase } from 'pg';
import type { QueuedOperation } from './log-queue';

/** What one batch did in PostgreSQL. */
export interface DeliveredBatch {
  readonly operations: number;
  /** Calls and audit rows that were new. */
  readonly calls: number;
  readonly audits: number;
  /** Rows already there: a batch delivered before whose acknowledgement was lost. */
  readonly duplicates: number;
  readonly outcomes: number;
  /** The last queue position the batch holds: acknowledge up to it once committed. */
  readonly upToSeq: number;
}

/**
 * Every row travels as one JSON array parameter and is unpacked by PostgreSQL against
 * the table's own row type (json_populate_recordset): one statement per table for any
 * batch size, no parameter limit, no per-row work in the agent (the queue already holds
 * each row as JSON), and the column types come from the schema. Measured against
 * multi-row VALUES and COPY through a temporary table, see log-shipper.ts.
 */
const INSERT_CALLS = `
  INSERT INTO calls (uid, at, kind, source, pbx, channel, tenant, did, caller, caller_raw, caller_name, ip, sip_from, facts,
                     action, target, rule_id, category, score, flagged, reasons, decided_us)
  SELECT r.uid, r.at, r.kind, r.source, r.pbx, r.channel, r.tenant, r.did, r.caller, r.caller_raw, r.caller_name, r.ip, r.sip_from, r.facts,
         r.action, r.target, r.rule_id, r.category, r.score, r.flagged, r.reasons, r.decided_us
    FROM json_populate_recordset(NULL::calls, $1::json) WITH ORDINALITY AS r
   ORDER BY r.ordinality
  ON CONFLICT (uid) DO NOTHING`;

const INSERT_AUDIT = `
  INSERT INTO audit (uid, at, actor, verb, entity, key, before, after)
  SELECT r.uid, r.at, r.actor, r.verb, r.entity, r.key, r.before, r.after
    FROM json_populate_recordset(NULL::audit, $1::json) WITH ORDINALITY AS r
   ORDER BY r.ordinality
  ON CONFLICT (uid) DO NOTHING`;

/**
 * Outcomes after the inserts, so that a call and its outcome in the same batch meet. Of
 * several outcomes for one call in a batch the last enqueued wins, as applying them one
 * by one in queue order would; applying one again sets the same values (idempotent).
 */
const UPDATE_OUTCOMES = `
  UPDATE calls SET outcome = u.outcome, outcome_detail = u.outcome_detail, ended_at = u.ended_at
    FROM (SELECT DISTINCT ON (r.uid) r.uid, r.outcome, r.outcome_detail, r.ended_at
            FROM json_populate_recordset(NULL::calls, $1::json) WITH ORDINALITY AS r
           ORDER BY r.uid, r.ordinality DESC) AS u
   WHERE calls.uid = u.uid`;

const jsonArray = (operations: readonly QueuedOperation[]) => `[${operations.map((operation) => operation.json).join(',')}]`;

/**
 * Delivers a batch in one PostgreSQL transaction: all of it or none of it. Rows already
 * there are skipped by uid, so a batch may safely be delivered again. Throws on any
 * failure (rolled back, or the connection is gone); the caller keeps the batch.
 */
export async function deliverBatch(client: ClientBase, operations: readonly QueuedOperation[]): Promise<DeliveredBatch> {
  const last = operations[operations.length - 1];
  if (!last) throw new Error('an empty batch has nothing to deliver');
  const calls = operations.filter((operation) => operation.kind === 'call');
  const audits = operations.filter((operation) => operation.kind === 'audit');
  const outcomes = operations.filter((operation) => operation.kind === 'outcome');
  await client.query('BEGIN');
  try {
    const insertedCalls = calls.length === 0 ? 0 : (await client.query(INSERT_CALLS, [jsonArray(calls)])).rowCount ?? 0;
    const insertedAudits = audits.length === 0 ? 0 : (await client.query(INSERT_AUDIT, [jsonArray(audits)])).rowCount ?? 0;
    if (outcomes.length > 0) await client.query(UPDATE_OUTCOMES, [jsonArray(outcomes)]);
    await client.query('COMMIT');
    return {
      operations: operations.length,
      calls: insertedCalls,
      audits: insertedAudits,
      duplicates: calls.length + audits.length - insertedCalls - insertedAudits,
      outcomes: outcomes.length,
      upToSeq: last.seq,
    };
  } catch (error) {
    // The connection may be gone too: the rollback is a courtesy, the error is what counts.
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
