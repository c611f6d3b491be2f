import type { Command } from 'commander';
import { cliActing } from '../operations/acting';
import { rememberPasses } from '../operations/challenge-memory';
import { withContext } from './action';

export function registerChallenge(program: Command): void {
  const challenge = program.command('challenge').description('the "press 1" challenge');
  challenge
    .command('remember <duration>')
    .description('let a caller who passed the challenge through without it for this long (30d), or off; never anonymous or invalid callers')
    .option('--tenant <name>', 'for this tenant only (default: every tenant without its own setting)')
    .action(
      withContext(async (ctx, duration: string, flags: { tenant?: string }) => {
        const { scope, ms } = await rememberPasses(await ctx.backends(), cliActing(ctx.actor), { duration, tenant: flags.tenant });
        console.log(ms === 0 ? `passed challenges are not remembered (${scope})` : `passed challenges are remembered for ${duration} (${scope})`);
      }),
    );
}
