import type { Command } from 'commander';
import { BadInput } from '../engine/bad-input';
import { cliActing } from '../operations/acting';
import { blockCaller, lastCallTo, parseBlockBy } from '../operations/block-caller';
import type { CallLogBackend } from '../store/call-log-backend';
import type { LogRow } from '../store/call-log-queries';
import { withContext } from './action';
import type { CliContext } from './context';

interface BlockFlags {
  by?: string;
  action?: string;
  scope?: string;
  sms?: boolean;
  last?: boolean;
  did?: string;
}

/** The call a block names: by id, or the newest to a DID. */
async function findCall(ctx: CliContext, calls: CallLogBackend, id: string | undefined, flags: BlockFlags): Promise<LogRow> {
  if (flags.last) {
    if (id !== undefined) throw new BadInput('give a call id or --last --did <number>, not both');
    if (!flags.did) throw new BadInput('--last needs --did <number>: the DID whose newest caller to block');
    return lastCallTo(calls, flags.did, ctx.country);
  }
  if (id === undefined || !/^\d{1,15}$/.test(id)) throw new BadInput(`bad call id "${id ?? ''}": expected the id 'callguard log' shows`);
  const call = await calls.byId(Number(id));
  if (!call) throw new BadInput(`no call ${id} in the call log`);
  return call;
}

export function registerBlock(program: Command): void {
  program
    .command('block [call-id]')
    .description("turn a logged call's caller into a rule (default: block its number for that call's tenant)")
    .option('--by <what>', 'number (default), ip (the signalling address) or sip (the From URI)')
    .option('--action <action>', 'the rule action (default block)')
    .option('--scope <scope>', "global, tenant:<name> or did:<number> (default: the call's tenant)")
    .option('--sms', 'also stop texts')
    .option('--last', 'the newest call to --did')
    .option('--did <number>', 'with --last: the DID')
    .action(
      withContext(async (ctx, id: string | undefined, flags: BlockFlags) => {
        const { calls, rules } = await ctx.backends();
        const call = await findCall(ctx, calls, id, flags);
        const by = parseBlockBy(flags.by);
        const blocked = await blockCaller(rules, cliActing(ctx.actor), call, { by, action: flags.action, scope: flags.scope, sms: flags.sms }, ctx.country);
        console.log(`added #${blocked.ruleId} ${blocked.action} ${blocked.pattern} (${blocked.scope}) from call ${call.id}`);
      }),
    );
}
