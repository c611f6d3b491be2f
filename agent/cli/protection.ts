import type { Command } from 'commander';
import { BadInput } from '../engine/bad-input';
import { SCORE_DEFAULTS, scoreSettings } from '../engine/score-settings';
import type { ProtectionRow } from '../store/protection';
import { withContext } from './action';
import type { CliContext } from './context';
import { printJson, printTable } from './print';

const DEFAULT_THRESHOLD = 70;
/** Without --flag-threshold, calls this far below the threshold go through marked. */
const FLAG_BELOW = 20;

interface ProtectionFlags {
  tenant?: string;
  threshold?: string;
  flagThreshold?: string;
  action?: string;
}

function score(text: string, what: string, min: number): number {
  const value = Number(text);
  if (!/^\d{1,3}$/.test(text) || value < min || value > 100) throw new BadInput(`bad ${what} "${text}": expected a whole number from ${min} to 100`);
  return value;
}

function scopeOf(ctx: CliContext, tenant: string | undefined): string {
  return tenant === undefined ? 'global' : `tenant:${ctx.tenants.requireTenant(tenant)}`;
}

/** on|off with the given settings; what is not given is kept from before, else the defaults. */
function setProtection(ctx: CliContext, enabled: boolean, flags: ProtectionFlags): ProtectionRow {
  const store = ctx.protection;
  const scope = scopeOf(ctx, flags.tenant);
  const before = store.get(scope) ?? store.get('global');
  const threshold = flags.threshold !== undefined ? score(flags.threshold, 'threshold', 10) : (before?.threshold ?? DEFAULT_THRESHOLD);
  const flagThreshold =
    flags.flagThreshold !== undefined
      ? score(flags.flagThreshold, 'flag threshold', 0)
      : flags.threshold !== undefined || !before
        ? Math.max(0, threshold - FLAG_BELOW)
        : before.flagThreshold;
  if (flagThreshold !== null && flagThreshold > threshold) {
    throw new BadInput(`flag threshold ${flagThreshold} is above the threshold ${threshold}: flagging must start at or below where blocking does`);
  }
  const action = flags.action ?? before?.action ?? 'block';
  if (action !== 'block' && action !== 'challenge' && action !== 'voicemail') {
    throw new BadInput(`bad protection action "${action}": expected block, challenge or voicemail`);
  }
  const row: ProtectionRow = { scope, enabled, threshold, flagThreshold, action };
  store.set(row);
  return row;
}

function describe(row: ProtectionRow): string {
  return `${row.scope}: ${row.enabled ? 'on' : 'off'}, threshold ${row.threshold}, flag at ${row.flagThreshold ?? 'never'}, action ${row.action}`;
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
      .action(withContext((ctx, flags: ProtectionFlags) => console.log(describe(setProtection(ctx, enabled, flags)))));
  }
  protection
    .command('show')
    .description('what is in force per tenant, and the score settings')
    .option('--json', 'print JSON')
    .action(
      withContext((ctx, flags: { json?: boolean }) => {
        const store = ctx.protection;
        const rows = store.list();
        const tenants = ctx.tenants.list().map((tenant) => {
          const own = rows.find((row) => row.scope === `tenant:${tenant.name}`);
          const global = rows.find((row) => row.scope === 'global');
          const inForce = own ?? global;
          return { tenant: tenant.name, from: inForce?.scope ?? 'default', enabled: inForce?.enabled ?? false, threshold: inForce?.threshold ?? DEFAULT_THRESHOLD, flagThreshold: inForce?.flagThreshold ?? null, action: inForce?.action ?? 'block' };
        });
        const settings = scoreSettings(store.tuned());
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
    .description('change one score setting (points, windows, reputation service); see protection show')
    .action(
      withContext((ctx, key: string, value: string) => {
        ctx.protection.tune(key, value);
        console.log(`${key} = ${value}`);
      }),
    );
}
