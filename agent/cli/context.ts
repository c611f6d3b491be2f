import type { Database } from 'better-sqlite3';
import type { Command } from 'commander';
import { readConfigFile } from '../config/load';
import { checkCountry } from '../engine/numbers';
import { CategoryStore } from '../store/categories';
import { databasePath, openDatabase } from '../store/database';
import { cliActor } from '../store/audit';
import { ProtectionStore } from '../store/protection';
import { RuleStore } from '../store/rules';
import { TenantStore } from '../store/tenants';

export interface GlobalOptions {
  readonly db?: string;
  readonly country?: string;
  readonly config?: string;
}

/** What a command works with: the database (opened on first use) and the number settings. */
export class CliContext {
  private database: Database | undefined;
  readonly country: string;
  readonly dbPath: string;
  /** --config, else CALLGUARD_CONFIG: the JSON file `serve` reads, and where db and country come from. */
  readonly configFile: string | undefined;

  constructor(options: GlobalOptions) {
    this.configFile = options.config || process.env.CALLGUARD_CONFIG || undefined;
    const file = this.configFile ? readConfigFile(this.configFile) : {};
    const fromFile = (key: 'db' | 'country') => (typeof file[key] === 'string' ? (file[key] as string) : undefined);
    this.country = checkCountry(options.country || process.env.CALLGUARD_COUNTRY || fromFile('country') || 'US');
    this.dbPath = databasePath(options.db || process.env.CALLGUARD_DB || fromFile('db'));
  }

  static of(command: Command): CliContext {
    return new CliContext(command.optsWithGlobals<GlobalOptions>());
  }

  get db(): Database {
    this.database ??= openDatabase(this.dbPath);
    return this.database;
  }

  /** Who the audit trail names for changes made from this command line. */
  readonly actor = cliActor();

  get tenants(): TenantStore {
    return new TenantStore(this.db, this.actor);
  }

  get rules(): RuleStore {
    return new RuleStore(this.db, this.actor);
  }

  get categories(): CategoryStore {
    return new CategoryStore(this.db, this.actor);
  }

  get protection(): ProtectionStore {
    return new ProtectionStore(this.db, this.actor);
  }

  close(): void {
    this.database?.close();
  }
}
