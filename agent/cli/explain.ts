import type { Command } from 'commander';
import { cliActing } from '../operations/acting';
import { explain } from '../operations/explain';
import { decisionJson } from '../screening/decision-json';
import { ReputationClient } from '../screening/reputation';
import { withContext } from './action';
import { cell, printJson } from './print';

interface ExplainFlags {
  from: string;
  to: string;
  ip?: string;
  sipFrom?: string;
  name?: string;
  attestation?: string;
  carrier?: string;
  sms?: boolean;
  json?: boolean;
  at?: string;
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('show what callguard would do with a call or text, and why')
    .requiredOption('--from <caller>', 'calling number as the PBX reports it')
    .requiredOption('--to <did>', 'number called')
    .option('--ip <address>', 'signalling source address')
    .option('--sip-from <uri>', 'SIP From URI')
    .option('--name <caller name>', 'caller name')
    .option('--attestation <level>', 'STIR/SHAKEN attestation: A, B, C, failed or a verstat or carrier word (attestation.words)')
    .option('--carrier <name>', 'the carrier name, instead of the prefix table')
    .option('--sms', 'a text rather than a call')
    .option('--at <time>', 'decide as of this ISO time (time windows, expiry, remembered passes)')
    .option('--json', 'print JSON')
    .action(
      withContext(async (ctx, flags: ExplainFlags) => {
        const decision = await explain((await ctx.backends()).decideCall, cliActing(ctx.actor), flags, ctx.country, new ReputationClient(), ctx.callerIds);
        if (flags.json) return printJson(decisionJson(decision));
        const target = decision.target ? ` ${decision.target}` : '';
        console.log(`${decision.action}${target}${decision.flagged ? ' (flagged as suspected spam)' : ''}`);
        decision.reasons.forEach((reason, i) => console.log(`  ${i + 1}. ${cell(reason)}`));
      }),
    );
}
