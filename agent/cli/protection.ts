import type { Command } from 'commander';
import { SCORE_DEFAULTS } from '../engine/score-settings';
import { cliActing } from '../operations/acting';
import { DEFAULT_THRESHOLD, FLAG_BELOW, protectionOfTenants, scoreInForce, setProtection, tuneScore } from '../operations/protection';
import type { ProtectionView } from '../operations/protection';
import { withContext } from './action';
import { printJson, printTable } from './print';

interface ProtectionFlags {
  tenant?: string;
  threshold?: string;
  flagThreshold?: string;
  action?: string;
}

function describe(view: ProtectionView): string {
  return `${view.from}: ${view.enabled ? 'on' : 'off'}, threshold ${view.threshold}, flag at ${view.flagThreshold ?? 'never'}, action ${view.action}`;
}

export function registerProtection(program: Command): void {
  const protection = program.command('protection').description('robocall protection: carrier rules and a risk score (off by default)');
  for (const [verb, enabled] of [['on', true], ['off', false]] as const) {
    protection
      .command(verb)
      .description(`turn protection ${verb} for every tenant without its own setting, or for one`)
      .option('--tenant <name>', 'only this tenant')
      .option('--threshold <10-100>', `block at or above this risk score (default ${DEFAULT_THRESHOLD}; lower blocks more)`)
      .option('--flag-threshold <n>', `let calls through marked as suspected spam from this score (default threshold - ${FLAG_BELOW})`)
      .option('--action <action>', 'what happens at the threshold: block, challenge or voicemail (default block)')
      .action(withContext(async (ctx, flags: ProtectionFlags) => console.log(describe(await setProtection(await ctx.backends(), cliActing(ctx.actor), { ...flags, enabled })))));
  }
  protection
    .command('show')
    .description('what is in force per tenant, and the score settings')
    .option('--json', 'print JSON')
    .action(
      withContext(async (ctx, flags: { json?: boolean }) => {
        const stores = await ctx.backends();
        const tenants = (await protectionOfTenants(stores, cliActing(ctx.actor))).map((view) => ({
          tenant: view.tenant!,
          from: view.from,
          enabled: view.enabled,
          threshold: view.threshold,
          flagThreshold: view.flagThreshold,
          action: view.action,
        }));
        const settings = await scoreInForce(stores);
        if (flags.json) return printJson({ tenants, score: settings });
        printTable(
          ['TENANT', 'PROTECTION', 'THRESHOLD', 'FLAG AT', 'ACTION', 'FROM'],
          tenants.map((row) => [row.tenant, row.enabled ? 'on' : 'off', row.threshold, row.flagThreshold ?? 'never', row.action, row.from]),
        );
        console.log('');
        printTable(
          ['SCORE SETTING', 'VALUE', 'DEFAULT'],
          Object.entries(settings).map(([key, value]) => [key, value === '' ? "''" : value, String(SCORE_DEFAULTS[key as keyof typeof SCORE_DEFAULTS]) || "''"]),
        );
      }),
    );
  protection
    .command('tune <setting> <value>')
    .description('change one score setting (points and windows; reputation services are `callguard reputation`); see protection show')
    .action(
      withContext(async (ctx, key: string, value: string) => {
        await tuneScore(await ctx.backends(), cliActing(ctx.actor), key, value);
        console.log(`${key} = ${value}`);
      }),
    );
}
