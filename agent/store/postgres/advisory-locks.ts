/**
 * PostgreSQL advisory lock keys callguard takes, as (space, id) pairs so that they cannot
 * collide with single-key locks other software on the same server may take. The space
 * is arbitrary but fixed: every agent of a fleet must use the same numbers.
 */
export const CALLGUARD_LOCK_SPACE = 1667720805;

/** Held while a migration is applied, so two agents starting at once do not both apply it. */
export const MIGRATION_LOCK = 1;

/** Taken by the change feed's triggers (migrations/postgres/001_schema.sql: changes_take_turn). */
export const CHANGE_FEED_LOCK = 2;

/** Held by the one agent pruning the fleet's call log and change feed (fleet-housekeeping.ts). */
export const HOUSEKEEPING_LOCK = 3;
