import type { Command } from 'commander';
import { BadInput } from '../engine/bad-input';
import { requireNumber } from '../engine/numbers';
import { blockCaller, parseBlockBy } from '../operations/block-caller';
import { CallLogQueries } from '../store/call-log-queries';
import type { LogRow } from '../store/call-log-queries';
import { withContext } from './action';
import type { CliContext } from './context';
import { parseRuleOptions } from '../operations/rule-options';

interface BlockFlags {
  by?: string;
  action?: string;
  scope?: string;
  sms?: boolean;
  last?: boolean;
  did?: string;
}

/** The call a block names: by id, or the newest to a DID. */
function findCall(ctx: CliContext, id: string | undefined, flags: BlockFlags): LogRow {
  const queries = new CallLogQueries(ctx.db);
  if (flags.last) {
    if (id !== undefined) throw new BadInput('give a call id or --last --did <number>, not both');
    if (!flags.did) throw new BadInput('--last needs --did <number>: the DID whose newest caller to block');
    const did = requireNumber(flags.did, ctx.country, 'DID');
    const call = queries.lastTo(did);
    if (!call) throw new BadInput(`no call to ${did} in the call log`);
    return call;
  }
  if (id === undefined || !/^\d{1,15}$/.test(id)) throw new BadInput(`bad call id "${id ?? ''}": expected the id 'callguard log' shows`);
  const call = queries.byId(Number(id));
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
      withContext((ctx, id: string | undefined, flags: BlockFlags) => {
        const call = findCall(ctx, id, flags);
        const by = parseBlockBy(flags.by);
        // Checked like `rules add` (action, scope, tenant) before anything is written.
        const options = parseRuleOptions({ action: flags.action ?? 'block', scope: flags.scope ?? `tenant:${call.tenant}`, sms: flags.sms }, ctx.country, Date.now());
        const blocked = blockCaller(ctx.db, call, { by, action: options.action, scope: options.scope, sms: options.sms }, ctx.country, ctx.actor);
        console.log(`added #${blocked.ruleId} ${blocked.action} ${blocked.pattern} (${blocked.scope}) from call ${call.id}`);
      }),
    );
}
