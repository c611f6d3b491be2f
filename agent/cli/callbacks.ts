import type { Command } from 'commander';
import { cliActing } from '../operations/acting';
import { recordOutboundCall, trustCallbacks } from '../operations/called-numbers';
import { withContext } from './action';

export function registerCallbacks(program: Command): void {
  const callbacks = program.command('callbacks').description('callbacks from numbers your users called skip categories and protection (never rules)');
  callbacks
    .command('trust <duration>')
    .description('how long a number your users called is trusted to call back (14d; 30d when never set), or off')
    .option('--tenant <name>', 'for this tenant only (default: every tenant without its own setting)')
    .action(
      withContext(async (ctx, duration: string, flags: { tenant?: string }) => {
        const { scope, ms } = await trustCallbacks(await ctx.backends(), cliActing(ctx.actor), { duration, tenant: flags.tenant });
        console.log(ms === 0 ? `callbacks are not trusted (${scope})` : `callbacks from numbers called in the last ${duration} are trusted (${scope})`);
      }),
    );
  callbacks
    .command('called <from> <to>')
    .description("record an outbound call, as the switch's hook does (POST /v1/called): <from> the caller's number or extension, <to> the number dialled")
    .option('--tenant <name>', "the tenant, when <from> is not one of its DIDs (default: the DID's tenant, else default)")
    .action(
      withContext(async (ctx, from: string, to: string, flags: { tenant?: string }) => {
        const recorded = await recordOutboundCall((await ctx.backends()).outboundCalls, { from, to, tenant: flags.tenant }, ctx.country);
        console.log(`tenant ${recorded.tenant} called ${recorded.number} at ${new Date(recorded.at).toISOString()}`);
      }),
    );
}
