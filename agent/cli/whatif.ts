import { createReadStream, statSync } from 'node:fs';
import type { Command } from 'commander';
import { BadInput } from '../engine/bad-input';
import { cliActing } from '../operations/acting';
import { DEFAULT_WHATIF_PERIOD, whatIf } from '../operations/whatif';
import type { ChangedCall, WhatIfReport } from '../replay/whatif-report';
import { withContext } from './action';
import { isoOrEmpty, printJson, printTable } from './print';

interface WhatIfFlags {
  since?: string;
  tenant?: string;
  threshold?: string;
  flagThreshold?: string;
  protection?: string;
  category: string[];
  add: string[];
  remove: string[];
  rulesFile?: string;
  json?: boolean;
  list?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const count = (n: number) => n.toLocaleString('en-US');
const arrow = (from: string, to: string) => `${from} → ${to}`;

export function registerWhatIf(program: Command): void {
  program
    .command('whatif')
    .description('replay the calls logged lately against a proposed change, without making it: what would have been decided otherwise')
    .option('--since <duration>', `how far back (${DEFAULT_WHATIF_PERIOD})`)
    .option('--tenant <name>', "only this tenant's calls; the settings tried are its own")
    .option('--threshold <score>', 'robocall protection threshold to try (10-100)')
    .option('--flag-threshold <score>', 'score from which calls go through marked (0-100)')
    .option('--protection <on|off>', 'robocall protection on or off')
    .option('--category <category=action>', 'a caller-category policy to try, e.g. anonymous=block (repeatable)', collect, [])
    .option('--add <pattern=action>', "a rule to try, as 'rules add' takes it, e.g. '404-555*=challenge', or a caller-name rule as the rules file writes it, 'name:V9*=block' (repeatable)", collect, [])
    .option('--remove <#id>', 'a rule to try without, e.g. #12 (repeatable)', collect, [])
    .option('--rules-file <file.csv>', 'rules to try, in the export format')
    .option('--list', 'also list every call decided otherwise')
    .option('--json', 'print the report as JSON')
    .action(
      withContext(async (ctx, flags: WhatIfFlags) => {
        const rulesCsv = flags.rulesFile === undefined ? undefined : readable(flags.rulesFile);
        const report = await whatIf(
          await ctx.backends(),
          cliActing(ctx.actor),
          {
            since: flags.since,
            tenant: flags.tenant,
            threshold: flags.threshold,
            flagThreshold: flags.flagThreshold === undefined ? undefined : /^none$/i.test(flags.flagThreshold) ? null : flags.flagThreshold,
            protection: flags.protection as 'on' | 'off' | undefined,
            categories: flags.category,
            add: flags.add,
            remove: flags.remove,
            rulesCsv,
            list: flags.list,
          },
          ctx.country,
          Date.now(),
          ctx.callerIds.anonymous,
        );
        if (flags.json) return printJson(report);
        printReport(report);
      }),
    );
}

function readable(file: string) {
  try {
    statSync(file);
  } catch {
    throw new BadInput(`cannot read ${file}: no such file`, 'rulesFile');
  }
  return createReadStream(file);
}

function printReport(report: WhatIfReport): void {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(`What if: ${report.changes.join('; ')}`);
  out(`Replayed ${count(report.calls)} call(s) from ${isoOrEmpty(report.period.from)} to ${isoOrEmpty(report.period.until)}${report.tenant ? ` (tenant ${report.tenant})` : ''}.`);
  if (report.withoutFacts > 0) out(`${count(report.withoutFacts)} of them were logged before callguard kept every fact of a call: replayed with what the log has (no privacy, attestation, carrier or reputation).`);
  if (report.decidedOtherwiseSince > 0) out(`${count(report.decidedOtherwiseSince)} would already be decided otherwise today than the log says: the rules or settings changed since. Before is today's.`);
  out();
  if (report.changed === 0) {
    out('No call would have been decided differently.');
    return;
  }
  out(`${count(report.changed)} call(s) would have been decided differently:`);
  printTable(
    ['BEFORE → AFTER', 'CALLS', 'WHERE (TENANT DID CALLS)'],
    report.transitions.map((transition) => [
      arrow(transition.before, transition.after),
      count(transition.calls),
      transition.where.slice(0, 3).map((place) => `${place.tenant} ${place.did ?? '-'} ${count(place.calls)}`).join(', ') + (transition.where.length > 3 ? `, and ${transition.where.length - 3} more` : ''),
    ]),
  );
  out();
  out('Callers most affected:');
  printTable(['CALLER', 'CALLS CHANGED'], report.topCallers.map((caller) => [caller.caller, count(caller.calls)]));
  out();
  const risk = report.atRisk;
  if (risk.calls === 0) out('Calls at risk: none (no call that was answered, passed a challenge or was allowed by a rule would now be stopped).');
  else {
    out(`Calls at risk: ${count(risk.calls)} would now be stopped although ${count(risk.answered)} were answered, ${count(risk.passedChallenge)} passed a challenge and ${count(risk.allowedByRule)} were allowed by a rule:`);
    printCalls(risk.list, true);
  }
  if (report.list) {
    out();
    out('Every call decided otherwise:');
    printCalls(report.list, false);
  }
}

function printCalls(calls: readonly ChangedCall[], withRisk: boolean): void {
  printTable(
    ['ID', 'TIME', 'TENANT', 'DID', 'CALLER', 'BEFORE → AFTER', 'SCORE', 'OUTCOME', ...(withRisk ? ['AT RISK: IT WAS'] : [])],
    calls.map((call) => [
      call.id,
      isoOrEmpty(call.at),
      call.tenant,
      call.did,
      call.caller,
      arrow(call.before, call.after),
      call.score.before === call.score.after ? (call.score.after ?? '') : `${call.score.before ?? '-'} → ${call.score.after ?? '-'}`,
      call.outcome,
      ...(withRisk ? [call.risk] : []),
    ]),
  );
}
