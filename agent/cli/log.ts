import type { Command } from 'commander';
import { BadInput } from '../engine/bad-input';
import { parseDuration } from '../engine/duration';
import { ACTIONS } from '../engine/types';
import type { LogFilter } from '../store/call-log-queries';
import { cliActing } from '../operations/acting';
import { CHART_HOURS, callStats, hourlyStats } from '../operations/stats';
import { readableTenant } from '../operations/tenant-access';
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

async function filterOf(ctx: CliContext, flags: FilterFlags): Promise<LogFilter> {
  if (flags.tenant !== undefined) await readableTenant((await ctx.backends()).tenants, cliActing(ctx.actor), flags.tenant);
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
      withContext(async (ctx, flags: FilterFlags) => {
        const filter = await filterOf(ctx, flags);
        const rows = await (await ctx.backends()).calls.list(filter);
        if (flags.json) return printJson(rows);
        printTable(
          ['ID', 'TIME', 'KIND', 'PBX', 'TENANT', 'DID', 'CALLER', 'ACTION', 'RULE', 'CATEGORY', 'SCORE', 'OUTCOME', 'DETAIL'],
          rows.map((row) => [
            row.id,
            new Date(row.at).toISOString().replace('T', ' ').slice(0, 19),
            row.kind,
            // The switch's name; calls asked about over the HTTP hook, or logged before names were kept, show where they came from.
            cell(row.pbx ?? row.source),
            row.tenant,
            row.did,
            cell(row.caller ?? row.callerRaw ?? '').slice(0, 24) || '(none)',
            row.outcome === 'monitored' ? `would ${row.action}` : row.flagged ? `${row.action} (flagged)` : row.action,
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
      withContext(async (ctx, duration: string | undefined) => {
        const calls = (await ctx.backends()).calls;
        if (duration !== undefined) await calls.setRetention(duration);
        console.log(`call log kept for ${await calls.retention()}`);
      }),
    );
  log
    .command('prune')
    .description('delete call-log rows older than the retention now')
    .action(withContext(async (ctx) => console.log(`pruned ${await (await ctx.backends()).calls.prune(Date.now())} row(s)`)));

  withFilters(program.command('stats').description('counters: total, scanned, blocked, flagged, legitimate, challenged, forwarded, voicemail'))
    .option('--per-hour <hours>', `calls per hour by outcome instead, for the last ${CHART_HOURS.join(' or ')} hours`)
    .action(
      withContext(async (ctx, flags: FilterFlags & { perHour?: string }) => {
        const acting = cliActing(ctx.actor);
        const stores = await ctx.backends();
        if (flags.perHour !== undefined) {
          const { buckets } = await hourlyStats(stores, acting, { tenant: flags.tenant, hours: flags.perHour });
          if (flags.json) return printJson(buckets);
          printTable(
            ['HOUR (UTC)', 'TOTAL', 'BLOCKED', 'FLAGGED', 'LEGITIMATE', 'OTHER'],
            buckets.map((bucket) => [new Date(bucket.at).toISOString().replace('T', ' ').slice(0, 16), bucket.total, bucket.blocked, bucket.flagged, bucket.legitimate, bucket.other]),
          );
          return;
        }
        const { tenant: _tenant, since: _since, ...counters } = await callStats(stores, acting, { tenant: flags.tenant, since: flags.since });
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
            ...(counters.wouldBlock > 0 ? [['Would block (monitor mode)', counters.wouldBlock]] : []),
          ],
        );
      }),
    );
}
