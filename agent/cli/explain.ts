import type { Command } from 'commander';
import { parseAttestation } from '../engine/attestation';
import { BadInput } from '../engine/bad-input';
import { decideWithReputation } from '../screening/decide-with-reputation';
import { ReputationClient } from '../screening/reputation';
import type { Decision } from '../engine/types';
import { SqliteDecisionStore } from '../store/decision-view';
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
}

/** The `explain --json` object: also what the HTTP hook answers. */
export function decisionJson(decision: Decision): Record<string, unknown> {
  return {
    action: decision.action,
    target: decision.target,
    kind: decision.kind,
    tenant: decision.tenant,
    did: decision.did,
    caller: decision.caller,
    callerKind: decision.callerKind,
    scope: decision.scope,
    ruleId: decision.ruleId,
    category: decision.category,
    categories: decision.categories,
    score: decision.score,
    signals: decision.signals,
    flagged: decision.flagged,
    reasons: decision.reasons,
  };
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
    .option('--attestation <level>', 'STIR/SHAKEN attestation: A, B, C or failed')
    .option('--carrier <name>', 'the carrier name, instead of the prefix table')
    .option('--sms', 'a text rather than a call')
    .option('--json', 'print JSON')
    .action(
      withContext(async (ctx, flags: ExplainFlags) => {
        const attestation = parseAttestation(flags.attestation);
        if (flags.attestation !== undefined && attestation === 'none') {
          throw new BadInput(`bad attestation "${flags.attestation}": expected A, B, C or failed`);
        }
        const decision = await decideWithReputation(
          {
            kind: flags.sms ? 'sms' : 'call',
            from: flags.from,
            to: flags.to,
            callerName: flags.name,
            ip: flags.ip,
            sipFrom: flags.sipFrom,
            attestation,
            carrier: flags.carrier,
          },
          new SqliteDecisionStore(ctx.db),
          { country: ctx.country, now: Date.now() },
          new ReputationClient(),
        );
        if (flags.json) return printJson(decisionJson(decision));
        const target = decision.target ? ` ${decision.target}` : '';
        console.log(`${decision.action}${target}${decision.flagged ? ' (flagged as suspected spam)' : ''}`);
        decision.reasons.forEach((reason, i) => console.log(`  ${i + 1}. ${cell(reason)}`));
      }),
    );
}
