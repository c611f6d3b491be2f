import type { Command } from 'commander';
import { BadInput } from '../engine/bad-input';
import { parseDuration } from '../engine/duration';
import { ACTIONS } from '../engine/types';
import { CallLogQueries } from '../store/call-log-queries';
import type { LogFilter } from '../store/call-log-queries';
import { cliActing } from '../operations/acting';
import { CHART_HOURS, callStats, hourlyStats } from '../operations/stats';
import { withContext } from './action';
import type { CliContext } from './context';
import { cell, printJson, printTable } from './print';

interface FilterFlags {
  tenant?: string;
  rule?: string;
  action?: string;
  since?: string;
  limit?: string;
  json?: boolean;
}

function filterOf(ctx: CliContext, flags: FilterFlags): LogFilter {
  if (flags.tenant !== undefined) ctx.tenants.requireTenant(flags.tenant);
  if (flags.rule !== undefined && !/^#?\d{1,12}$/.test(flags.rule)) throw new BadInput(`bad rule id "${flags.rule}": expected a number such as 12`);
  if (flags.action !== undefined && !(ACTIONS as readonly string[]).includes(flags.action)) {
    throw new BadInput(`unknown action "${flags.action}": expected one of ${ACTIONS.join(', ')}`);
  }
  if (flags.limit !== undefined && !/^\d{1,7}$/.test(flags.limit)) throw new BadInput(`bad limit "${flags.limit}": expected a whole number`);
  return {
    tenant: flags.tenant,
    ruleId: flags.rule === undefined ? undefined : Number(flags.rule.replace('#', '')),
    action: flags.action,
    since: flags.since === undefined ? undefined : Date.now() - parseDuration(flags.since, '--since'),
    limit: flags.limit === undefined ? undefined : Number(flags.limit),
  };
}

const withFilters = (command: Command) =>
  command
    .option('--tenant <name>', 'only this tenant')
    .option('--since <duration>', 'only the last 24h, 7d, …')
    .option('--json', 'print JSON');

export function registerLog(program: Command): void {
  const log = withFilters(program.command('log').description('the call log: every decision and what happened'))
    .option('--rule <id>', 'only calls this rule decided')
    .option('--action <action>', 'only calls given this action')
    .option('--limit <n>', 'at most this many (newest first)', '50')
    .action(
      withContext((ctx, flags: FilterFlags) => {
        const rows = new CallLogQueries(ctx.db).list(filterOf(ctx, flags));
        if (flags.json) return printJson(rows);
        printTable(
          ['ID', 'TIME', 'KIND', 'TENANT', 'DID', 'CALLER', 'ACTION', 'RULE', 'CATEGORY', 'SCORE', 'OUTCOME', 'DETAIL'],
          rows.map((row) => [
            row.id,
            new Date(row.at).toISOString().replace('T', ' ').slice(0, 19),
            row.kind,
            row.tenant,
            row.did,
            cell(row.caller ?? row.callerRaw ?? '').slice(0, 24) || '(none)',
            row.flagged ? `${row.action} (flagged)` : row.action,
            row.ruleId === null ? '' : `#${row.ruleId}`,
            row.category,
            row.score,
            row.outcome,
            row.outcomeDetail,
          ]),
        );
      }),
    );
  log
    .command('retention [duration]')
    .description(`show or set how long call-log rows are kept (default ${'90d'}); a running agent prunes older ones`)
    .action(
      withContext((ctx, duration: string | undefined) => {
        const queries = new CallLogQueries(ctx.db);
        if (duration !== undefined) queries.setRetention(duration, ctx.actor);
        console.log(`call log kept for ${queries.retention()}`);
      }),
    );
  log
    .command('prune')
    .description('delete call-log rows older than the retention now')
    .action(withContext((ctx) => console.log(`pruned ${new CallLogQueries(ctx.db).prune()} row(s)`)));

  withFilters(program.command('stats').description('counters: total, scanned, blocked, flagged, legitimate, challenged, forwarded, voicemail'))
    .option('--per-hour <hours>', `calls per hour by outcome instead, for the last ${CHART_HOURS.join(' or ')} hours`)
    .action(
      withContext((ctx, flags: FilterFlags & { perHour?: string }) => {
        const acting = cliActing(ctx.actor);
        if (flags.perHour !== undefined) {
          const { buckets } = hourlyStats(ctx.db, acting, { tenant: flags.tenant, hours: flags.perHour });
          if (flags.json) return printJson(buckets);
          printTable(
            ['HOUR (UTC)', 'TOTAL', 'BLOCKED', 'FLAGGED', 'LEGITIMATE', 'OTHER'],
            buckets.map((bucket) => [new Date(bucket.at).toISOString().replace('T', ' ').slice(0, 16), bucket.total, bucket.blocked, bucket.flagged, bucket.legitimate, bucket.other]),
          );
          return;
        }
        const { tenant: _tenant, since: _since, ...counters } = callStats(ctx.db, acting, { tenant: flags.tenant, since: flags.since });
        if (flags.json) return printJson(counters);
        printTable(
          ['COUNTER', 'CALLS'],
          [
            ['Total', counters.total],
            ['Scanned', counters.scanned],
            ['Blocked', counters.blocked],
            ['Flagged', counters.flagged],
            ['Legitimate', counters.legitimate],
            ['Challenged', `${counters.challenged} (passed ${counters.challengePassed}, failed ${counters.challengeFailed})`],
            ['Forwarded', `${counters.forwarded} (answered ${counters.forwardAnswered})`],
            ['Voicemail', counters.voicemail],
          ],
        );
      }),
    );
}
