import { Command, CommanderError } from 'commander';
import { BadInput } from '../engine/bad-input';
import { Forbidden, NotFound } from '../operations/acting';
import { registerAudit } from './audit';
import { registerBackup } from './backup';
import { registerBlock } from './block';
import { registerCallbacks } from './callbacks';
import { registerCarriers } from './carriers';
import { registerCategories } from './categories';
import { registerChallenge } from './challenge';
import { registerConfig } from './config';
import { registerConsole } from './console';
import { registerDemo } from './demo';
import { registerExplain } from './explain';
import { registerLog } from './log';
import { registerMigrate } from './migrate';
import { registerProtection } from './protection';
import { registerReputation } from './reputation';
import { registerRules } from './rules';
import { registerServe } from './serve';
import { registerStoreCopy } from './store-copy';
import { registerDids, registerTenants } from './tenants';
import { registerTokens } from './tokens';
import { registerUsers } from './users';
import { registerWhatIf } from './whatif';

/** Exit codes: 0 done, 1 something failed that is not the operator's input, 2 bad input. */
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

export function buildProgram(): Command {
  const program = new Command('callguard')
    .description('inbound call screening for FreeSWITCH and Asterisk')
    .option('--db <path>', 'database file (else CALLGUARD_DB, else ./callguard.db)')
    .option('--country <code>', 'default country for national numbers (else CALLGUARD_COUNTRY, else the config file, else US)')
    .option('--config <file>', 'JSON config file (else CALLGUARD_CONFIG); see callguard config check')
    .option('--store <url>', 'postgres://… store shared by a fleet of agents (else CALLGUARD_STORE, else store.url in the config file, else the SQLite file)')
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'callguard: ')) })
    .exitOverride();
  registerTenants(program);
  registerDids(program);
  registerRules(program);
  registerCategories(program);
  registerProtection(program);
  registerReputation(program);
  registerCarriers(program);
  registerExplain(program);
  registerWhatIf(program);
  registerLog(program);
  registerBlock(program);
  registerChallenge(program);
  registerCallbacks(program);
  registerAudit(program);
  registerServe(program);
  registerMigrate(program);
  registerStoreCopy(program);
  registerConsole(program);
  registerBackup(program);
  registerConfig(program);
  registerDemo(program);
  registerUsers(program);
  registerTokens(program);
  const inherit = (command: Command) => {
    command.exitOverride().configureOutput(program.configureOutput());
    command.commands.forEach(inherit);
  };
  program.commands.forEach(inherit);
  return program;
}

function fail(message: string, code: number): void {
  process.stderr.write(`callguard: ${message.replace(/\s+/g, ' ').trim()}\n`);
  process.exitCode = code;
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message; help and version are not failures.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    } else if (error instanceof BadInput || error instanceof NotFound || error instanceof Forbidden) {
      fail(error.message, EXIT_BAD_INPUT);
    } else if (error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_')) {
      fail(`database error (${String(error.code)}): ${error.message}`, EXIT_FAILED);
    } else {
      fail(error instanceof Error ? error.message : String(error), EXIT_FAILED);
      if (process.env.CALLGUARD_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    }
  }
}
