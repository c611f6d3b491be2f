import type { Database } from 'better-sqlite3';
import type { Command } from 'commander';
import { callerIdSettings } from '../config/caller-ids';
import type { CallerIdSections, CallerIdSettings } from '../config/caller-ids';
import { readConfigFile } from '../config/load';
import { chooseStore } from '../config/store-choice';
import type { StoreChoice } from '../config/store-choice';
import { checkCountry } from '../engine/numbers';
import { databasePath, openDatabase } from '../store/database';
import { cliActor } from '../store/audit';
import { postgresBackends, sqliteBackends } from '../operations/store-backends';
import type { Backends, StoreBackends } from '../operations/store-backends';
import type { PostgresStore } from '../store/postgres/connect';
import { StoreUnavailable, connectStore, requireSchema } from '../store/postgres/store-unavailable';

export interface GlobalOptions {
  readonly db?: string;
  readonly country?: string;
  readonly config?: string;
  readonly store?: string;
}

/** What a command works with: the store (the SQLite file or a fleet's PostgreSQL, opened on first use) and the number settings. */
export class CliContext {
  private database: Database | undefined;
  private postgres: PostgresStore | undefined;
  private backendsOfStore: StoreBackends | undefined;
  readonly country: string;
  readonly dbPath: string;
  /** --config, else CALLGUARD_CONFIG: the JSON file `serve` reads, and where db and country come from. */
  readonly configFile: string | undefined;
  /** The SQLite file, or the PostgreSQL store of a fleet (--store, CALLGUARD_STORE, store.url). */
  readonly store: StoreChoice;
  /** What "no caller ID" and each attestation word mean: the config file's `anonymous` and `attestation`, as `serve` reads them. */
  readonly callerIds: CallerIdSettings;

  /** `command` names the command being run (`rules add`), for the refusal of a PostgreSQL store. */
  constructor(options: GlobalOptions, private readonly command = 'this command') {
    this.configFile = options.config || process.env.CALLGUARD_CONFIG || undefined;
    const file = this.configFile ? readConfigFile(this.configFile) : {};
    const fromFile = (key: 'db' | 'country') => (typeof file[key] === 'string' ? (file[key] as string) : undefined);
    this.country = checkCountry(options.country || process.env.CALLGUARD_COUNTRY || fromFile('country') || 'US');
    this.dbPath = databasePath(options.db || process.env.CALLGUARD_DB || fromFile('db'));
    this.callerIds = callerIdSettings(file as CallerIdSections, this.country);
    const storeSection = file.store as { url?: string | null } | undefined;
    this.store = chooseStore({
      flag: options.store,
      env: process.env.CALLGUARD_STORE,
      file: this.configFile ? { url: storeSection?.url ?? null, path: this.configFile } : undefined,
    });
  }

  static of(command: Command): CliContext {
    const names: string[] = [];
    for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
    return new CliContext(command.optsWithGlobals<GlobalOptions>(), names.join(' '));
  }

  /**
   * The SQLite database. With a PostgreSQL store there is none to use: a command that
   * reached for it would read or change a local file no agent of the fleet decides from.
   */
  get db(): Database {
    if (this.store.kind === 'postgres') {
      throw new StoreUnavailable(
        `${this.command} works on a SQLite file only: the store is PostgreSQL at ${this.store.address.label} (from ${this.store.from}); back that up with pg_dump, or into a SQLite file with 'callguard store copy --from <url> --to <file>'`,
      );
    }
    this.database ??= openDatabase(this.dbPath);
    return this.database;
  }

  /** Who the audit trail names for changes made from this command line. */
  readonly actor = cliActor();

  /** The store this command line chose: the SQLite file or the fleet's PostgreSQL. */
  async storeBackends(): Promise<StoreBackends> {
    this.backendsOfStore ??= this.store.kind === 'postgres' ? postgresBackends((await this.postgresStore()).pool) : sqliteBackends(this.db);
    return this.backendsOfStore;
  }

  /** The store this command line chose, its changes audited as this operator. */
  async backends(): Promise<Backends> {
    return (await this.storeBackends()).as(this.actor);
  }

  /** The fleet's PostgreSQL, connected on first use and its schema checked (one clear line if either fails). */
  private async postgresStore(): Promise<PostgresStore> {
    if (this.store.kind !== 'postgres') throw new Error('not a PostgreSQL store');
    if (!this.postgres) {
      const store = await connectStore(this.store.url, { applicationName: `callguard ${this.command}` });
      try {
        await requireSchema(store, this.store.url);
      } catch (error) {
        await store.pool.end();
        throw error;
      }
      this.postgres = store;
    }
    return this.postgres;
  }

  async close(): Promise<void> {
    this.database?.close();
    await this.postgres?.pool.end();
  }
}
