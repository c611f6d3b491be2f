import type { Command } from 'commander';
import { configErrors } from '../config/check';
import { loadConfig, readJson } from '../config/load';
import { pbxConnections } from '../config/pbx-list';
import { SECRET_KEYS } from '../config/schema';
import { BadInput } from '../engine/bad-input';
import { withContext } from './action';
import { printJson } from './print';

/** The effective config with every secret replaced, for printing. */
function redacted(config: object): object {
  const copy = structuredClone(config) as Record<string, Record<string, unknown>>;
  for (const path of SECRET_KEYS) {
    const [section, key] = path.split('.') as [string, string];
    if (copy[section]?.[key]) copy[section]![key] = '[redacted]';
  }
  for (const entry of (copy.pbxes ?? []) as unknown as Record<string, unknown>[]) {
    for (const key of ['password', 'eslPassword']) if (entry[key]) entry[key] = '[redacted]';
  }
  return copy;
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('the JSON config file of callguard serve');
  config
    .command('check [file]')
    .description('validate a config file (default: --config or CALLGUARD_CONFIG), naming each bad key, and print the effective settings')
    .action(
      withContext((ctx, file: string | undefined) => {
        const path = file ?? ctx.configFile;
        if (!path) throw new BadInput('no config file: give one, or set --config or CALLGUARD_CONFIG');
        const errors = configErrors(readJson(path));
        if (errors.length > 0) {
          for (const error of errors) process.stderr.write(`callguard: ${path}: ${error}\n`);
          process.exitCode = 2;
          return;
        }
        const config = loadConfig(path, process.env, {});
        // Each listed switch must be servable as the environment stands (its password there or in the file),
        // and no two may need the same port or the same switch.
        if (config.pbxes.length > 0 || config.pbx !== null) pbxConnections(config, process.env);
        console.log(`${path}: ok; in force with the environment (flags aside):`);
        printJson(redacted(config));
      }),
    );
}
