import type { ReputationSource } from '../engine/decision-store';
import { BadInput } from '../engine/bad-input';

/** A stored source: its place in the order, from 1. */
export interface ReputationSourceRow extends ReputationSource {
  readonly position: number;
}

/** The columns of a ReputationSourceRow; aliases quoted, as PostgreSQL folds bare ones to lower case. */
export const SOURCE_COLUMNS = 'name, position, url, timeout_ms AS "timeoutMs", weight';

/**
 * The reputation sources as their operations (agent/operations/reputation.ts) reach them,
 * on either backend. The operations validate first; each write is one transaction with its
 * audit entry, and leaves the positions 1, 2, … in order.
 */
export interface ReputationBackend {
  /** In order. */
  sources(): Promise<ReputationSourceRow[]>;
  /** Adds a source at `position` (beyond the end, or null: last); BadInput (field `name`) and nothing written when the name is taken. */
  add(source: ReputationSource, position: number | null): Promise<ReputationSourceRow>;
  /** The source removed; undefined when there was none of that name. */
  remove(name: string): Promise<ReputationSourceRow | undefined>;
  /** Moves a source to `position` (beyond the end: last); the source as it now stands, undefined when there is none of that name. */
  move(name: string, position: number): Promise<ReputationSourceRow | undefined>;
}

export function duplicateSource(name: string): BadInput {
  return new BadInput(`reputation source "${name}" already exists: remove it first, or choose another name`, 'name');
}

/** The rows in this order numbered 1, 2, …: those whose position changes, with their new one. */
export function renumbered(rows: readonly ReputationSourceRow[]): ReputationSourceRow[] {
  return rows.flatMap((row, i) => (row.position === i + 1 ? [] : [{ ...row, position: i + 1 }]));
}

/**
 * The order after `moving` (a new source, or one of `rows`) is put at `position` (1-based,
 * clamped to the list; null: last): the rows whose position changes. Both backends write exactly these.
 */
export function reordered(rows: readonly ReputationSourceRow[], moving: ReputationSource, position: number | null): ReputationSourceRow[] {
  const others = rows.filter((row) => row.name !== moving.name);
  const at = position === null ? others.length : Math.max(0, Math.min(others.length, position - 1));
  const was = rows.find((row) => row.name === moving.name)?.position ?? 0;
  return renumbered([...others.slice(0, at), { ...moving, position: was }, ...others.slice(at)]);
}
