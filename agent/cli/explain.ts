import type { Command } from 'commander';
import { parseAttestation } from '../engine/attestation';
import { BadInput } from '../engine/bad-input';
import { decideWithReputation } from '../screening/decide-with-reputation';
import { decisionJson } from '../screening/decision-json';
import { ReputationClient } from '../screening/reputation';
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
  at?: string;
}

function parseMoment(text: string | undefined): number {
  if (text === undefined) return Date.now();
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(at)) throw new BadInput(`bad --at "${text}": expected an ISO time such as 2026-11-23T08:59:59-05:00`);
  return at;
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
    .option('--at <time>', 'decide as of this ISO time (time windows, expiry, remembered passes)')
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
          { country: ctx.country, now: parseMoment(flags.at) },
          new ReputationClient(),
        );
        if (flags.json) return printJson(decisionJson(decision));
        const target = decision.target ? ` ${decision.target}` : '';
        console.log(`${decision.action}${target}${decision.flagged ? ' (flagged as suspected spam)' : ''}`);
        decision.reasons.forEach((reason, i) => console.log(`  ${i + 1}. ${cell(reason)}`));
      }),
    );
}
