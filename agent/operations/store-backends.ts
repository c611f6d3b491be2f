import type { Database } from 'better-sqlite3';
import type { Pool } from 'pg';
import { decideFromPostgres } from '../screening/decide-from-postgres';
import { deciderOn } from '../screening/decide-with-reputation';
import type { CallDecider } from '../screening/decide-with-reputation';
import type { AuditReader } from '../store/audit-reader';
import type { CallLogBackend } from '../store/call-log-backend';
import type { CategoryBackend } from '../store/category-backend';
import type { ReplayPeriod, ReplayTables } from '../replay/replay';
import { CallLogQueries } from '../store/call-log-queries';
import { SqliteDecisionStore } from '../store/decision-view';
import { PostgresDecisionReads } from '../store/postgres/decision-reads';
import { PostgresAuditReader } from '../store/postgres/audit-reader';
import { PostgresCallLogBackend } from '../store/postgres/call-log-backend';
import { PostgresCategoryBackend } from '../store/postgres/category-backend';
import { PostgresProtectionBackend } from '../store/postgres/protection-backend';
import { PostgresReputationBackend } from '../store/postgres/reputation-backend';
import { PostgresRuleBackend } from '../store/postgres/rule-backend';
import { PostgresSettingBackend } from '../store/postgres/setting-backend';
import { PostgresTenantBackend } from '../store/postgres/tenant-backend';
import { PostgresUserBackend } from '../store/postgres/user-backend';
import { PostgresWinningOrderBackend } from '../store/postgres/winning-order-backend';
import type { OutboundCallBackend } from '../store/outbound-call-backend';
import { PostgresOutboundCallBackend } from '../store/postgres/outbound-call-backend';
import type { ProtectionBackend } from '../store/protection-backend';
import type { ReputationBackend } from '../store/reputation-backend';
import type { RuleBackend } from '../store/rule-backend';
import type { SettingBackend } from '../store/setting-backend';
import { SqliteAuditReader } from '../store/sqlite-audit-reader';
import { SqliteOutboundCallBackend } from '../store/sqlite-outbound-call-backend';
import { SqliteCallLogBackend } from '../store/sqlite-call-log-backend';
import { SqliteCategoryBackend } from '../store/sqlite-category-backend';
import { SqliteProtectionBackend } from '../store/sqlite-protection-backend';
import { SqliteReputationBackend } from '../store/sqlite-reputation-backend';
import { SqliteRuleBackend } from '../store/sqlite-rule-backend';
import { SqliteSettingBackend } from '../store/sqlite-setting-backend';
import { SqliteTenantBackend } from '../store/sqlite-tenant-backend';
import { SqliteUserBackend } from '../store/sqlite-user-backend';
import { SqliteWinningOrderBackend } from '../store/sqlite-winning-order-backend';
import type { TenantBackend } from '../store/tenant-backend';
import type { UserBackend } from '../store/user-backend';
import type { WinningOrderBackend } from '../store/winning-order-backend';

/**
 * Every part of one store as the operations reach it, for one person: what the faces
 * (CLI, REST API, console) hand the operations, whichever backend holds the store. Each
 * operation takes the parts it needs (`Pick<Backends, …>`); writes are audited as `actor`.
 */
export interface Backends {
  readonly rules: RuleBackend;
  readonly tenants: TenantBackend;
  readonly categories: CategoryBackend;
  readonly protection: ProtectionBackend;
  readonly reputation: ReputationBackend;
  readonly settings: SettingBackend;
  readonly users: UserBackend;
  readonly calls: CallLogBackend;
  readonly audit: AuditReader;
  readonly order: WinningOrderBackend;
  /** The outbound calls the switches report, which callbacks are trusted by. */
  readonly outboundCalls: OutboundCallBackend;
  /** What callguard would do with a call, decided from this store. */
  readonly decideCall: CallDecider;
  /** The decision tables as they stand, for a replay of logged calls. */
  readonly replayTables: () => Promise<ReplayTables>;
  /** How a replay's period can be split between threads that each open the store; null where it cannot (PostgreSQL, a database in memory). */
  readonly replaySplit: ReplaySplit | null;
}

/** A store other threads can open themselves (a SQLite file), for parts of a replay side by side. */
export interface ReplaySplit {
  readonly file: string;
  /** Moments cutting the period's calls into `parts` runs of about as many calls; none when it has fewer than `atLeast`. */
  boundaries(period: ReplayPeriod, parts: number, atLeast: number): Promise<number[]>;
}

/** A store, opened: its backends for whoever acts. */
export interface StoreBackends {
  readonly kind: 'sqlite' | 'postgres';
  as(actor: string): Backends;
}

type Makers = { readonly [Part in keyof Backends]: (actor: string) => Backends[Part] };

/** Each part made when first used: a request touches two or three of them. */
function storeOf(kind: StoreBackends['kind'], makers: Makers): StoreBackends {
  return {
    kind,
    as(actor) {
      const made = new Map<keyof Backends, unknown>();
      const backends = {} as Backends;
      for (const part of Object.keys(makers) as (keyof Backends)[]) {
        Object.defineProperty(backends, part, {
          enumerable: true,
          get: () => {
            if (!made.has(part)) made.set(part, makers[part](actor));
            return made.get(part);
          },
        });
      }
      return backends;
    },
  };
}

/** The SQLite file. */
export function sqliteBackends(db: Database): StoreBackends {
  const decideCall = deciderOn(new SqliteDecisionStore(db));
  return storeOf('sqlite', {
    rules: (actor) => new SqliteRuleBackend(db, actor),
    tenants: (actor) => new SqliteTenantBackend(db, actor),
    categories: (actor) => new SqliteCategoryBackend(db, actor),
    protection: (actor) => new SqliteProtectionBackend(db, actor),
    reputation: (actor) => new SqliteReputationBackend(db, actor),
    settings: (actor) => new SqliteSettingBackend(db, actor),
    users: (actor) => new SqliteUserBackend(db, actor),
    calls: (actor) => new SqliteCallLogBackend(db, actor),
    audit: () => new SqliteAuditReader(db),
    order: () => new SqliteWinningOrderBackend(db),
    outboundCalls: () => new SqliteOutboundCallBackend(db),
    decideCall: () => decideCall,
    replayTables: () => async () => {
      const store = new SqliteDecisionStore(db);
      return { view: store.view(), preloadRules: (keys) => store.preloadRules(keys), preloadCallbacks: (lookups) => store.preloadCallbacks(lookups) };
    },
    replaySplit: () => (db.memory ? null : { file: db.name, boundaries: async (period, parts, atLeast) => new CallLogQueries(db).replayBoundaries(period, parts, atLeast) }),
  });
}

/** A fleet's PostgreSQL; explain reads it for the one call asked about. */
export function postgresBackends(pool: Pool): StoreBackends {
  const decideCall = decideFromPostgres(pool);
  return storeOf('postgres', {
    rules: (actor) => new PostgresRuleBackend(pool, actor),
    tenants: (actor) => new PostgresTenantBackend(pool, actor),
    categories: (actor) => new PostgresCategoryBackend(pool, actor),
    protection: (actor) => new PostgresProtectionBackend(pool, actor),
    reputation: (actor) => new PostgresReputationBackend(pool, actor),
    settings: (actor) => new PostgresSettingBackend(pool, actor),
    users: (actor) => new PostgresUserBackend(pool, actor),
    calls: (actor) => new PostgresCallLogBackend(pool, actor),
    audit: () => new PostgresAuditReader(pool),
    order: () => new PostgresWinningOrderBackend(pool),
    outboundCalls: () => new PostgresOutboundCallBackend(pool),
    decideCall: () => decideCall,
    replayTables: () => async () => {
      const reads = await PostgresDecisionReads.open(pool);
      return { view: reads.view(), readMissing: () => reads.readMissing(), preloadRules: (keys) => reads.preloadRules(keys), preloadCallbacks: (lookups) => reads.preloadCallbacks(lookups) };
    },
    // A fleet's log is replayed in one pass: its reads are batched per page already.
    replaySplit: () => null,
  });
}
