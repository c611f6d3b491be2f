import type { Command } from 'commander';
import { parseDuration } from '../engine/duration';
import { REMEMBER_PASSES, SettingsStore } from '../store/settings';
import { withContext } from './action';

export function registerChallenge(program: Command): void {
  const challenge = program.command('challenge').description('the "press 1" challenge');
  challenge
    .command('remember <duration>')
    .description('let a caller who passed the challenge through without it for this long (30d), or off; never anonymous or invalid callers')
    .option('--tenant <name>', 'for this tenant only (default: every tenant without its own setting)')
    .action(
      withContext((ctx, duration: string, flags: { tenant?: string }) => {
        const scope = flags.tenant === undefined ? 'global' : `tenant:${ctx.tenants.requireTenant(flags.tenant)}`;
        const ms = duration === 'off' ? 0 : parseDuration(duration, 'duration');
        new SettingsStore(ctx.db, ctx.actor).set(`${REMEMBER_PASSES}${scope}`, String(ms));
        console.log(ms === 0 ? `passed challenges are not remembered (${scope})` : `passed challenges are remembered for ${duration} (${scope})`);
      }),
    );
}
