import type { Outcome } from '../../actions/outcome';
import type { AuditEntity, AuditVerb } from '../audit';
import type { CallEntry } from '../call-log';
import { callUid } from '../call-uid';
import { loggedFacts } from '../logged-facts';

/**
 * What the local queue holds on its way to PostgreSQL: rows keyed by their PostgreSQL
 * column names, so that the shipper can hand a batch over as JSON without reshaping it.
 * Every row carries the uid it was given when it happened: delivering it twice (a batch
 * committed whose acknowledgement was lost) then finds it already there.
 */

/** A screened call or text, as `calls` holds it before its outcome is known. */
export interface CallRow {
  readonly uid: string;
  readonly at: number;
  readonly kind: string;
  readonly source: string;
  readonly pbx: string | null;
  readonly channel: string | null;
  readonly tenant: string;
  readonly did: string | null;
  readonly caller: string | null;
  readonly caller_raw: string | null;
  readonly caller_name: string | null;
  readonly ip: string | null;
  readonly sip_from: string | null;
  /** JSON text (logged-facts.ts). */
  readonly facts: string | null;
  readonly action: string;
  readonly target: string | null;
  readonly rule_id: number | null;
  readonly category: string | null;
  readonly score: number | null;
  readonly flagged: number;
  /** JSON array of sentences, as text (as SQLite keeps it). */
  readonly reasons: string;
  readonly decided_us: number | null;
}

/** What then happened to the call with this uid. */
export interface OutcomeUpdate {
  readonly uid: string;
  readonly outcome: string;
  readonly outcome_detail: string | null;
  readonly ended_at: number;
}

/** One operator change, with the uid made when it was made. */
export interface AuditEntry {
  readonly uid: string;
  readonly at: number;
  readonly actor: string;
  readonly verb: AuditVerb;
  readonly entity: AuditEntity;
  readonly key: string;
  /** JSON, null when it did not exist. */
  readonly before: string | null;
  /** JSON, null when it no longer exists. */
  readonly after: string | null;
}

export type OperationKind = 'call' | 'outcome' | 'audit';

const TEXT_LIMIT = 256;
/** As the SQLite log cuts what a caller signalled, less NUL characters: PostgreSQL text cannot hold them, and one would have the row refused. */
const cut = (text: string | undefined) => (text === undefined ? null : text.replaceAll('\u0000', '').slice(0, TEXT_LIMIT));

/** The row the SQLite call log would write for this entry (agent/store/call-log.ts), column for column. */
export function callRowOf({ uid, at, source, pbx, channel, facts, decision, decidedUs }: CallEntry): CallRow {
  return {
    uid,
    at,
    kind: decision.kind,
    source,
    pbx,
    channel,
    tenant: decision.tenant,
    did: decision.did,
    caller: decision.caller,
    caller_raw: cut(facts.from),
    caller_name: cut(facts.callerName),
    ip: cut(facts.ip),
    sip_from: cut(facts.sipFrom),
    facts: loggedFacts(facts),
    action: decision.action,
    target: decision.target,
    rule_id: decision.ruleId,
    category: decision.category,
    score: decision.score,
    flagged: decision.flagged ? 1 : 0,
    reasons: JSON.stringify(decision.reasons),
    decided_us: Math.round(decidedUs),
  };
}

export function outcomeUpdateOf(uid: string, outcome: Outcome, at = Date.now()): OutcomeUpdate {
  return { uid, outcome: outcome.outcome, outcome_detail: outcome.detail, ended_at: at };
}

/** An audit row as AuditTrail.record would write it, plus the uid that keeps it single in PostgreSQL. */
export function auditEntryOf(actor: string, verb: AuditVerb, entity: AuditEntity, key: string, before: unknown, after: unknown, at = Date.now()): AuditEntry {
  const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));
  return { uid: callUid(at), at, actor, verb, entity, key, before: json(before), after: json(after) };
}
