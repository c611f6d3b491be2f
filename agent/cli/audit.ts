import type { Command } from 'commander';
import { parseDuration } from '../engine/duration';
import { withContext } from './action';
import { cell, printJson, printTable } from './print';

const brief = (value: unknown) => (value === null || value === undefined ? '' : cell(JSON.stringify(value)).slice(0, 80));

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('who changed what, when: tenants, DIDs, rules, lists, categories, protection, carriers and settings')
    .option('--since <duration>', 'only the last 24h, 7d, …')
    .option('--json', 'print JSON')
    .action(
      withContext(async (ctx, flags: { since?: string; json?: boolean }) => {
        const since = flags.since === undefined ? undefined : Date.now() - parseDuration(flags.since, '--since');
        const rows = await (await ctx.backends()).audit.list(since);
        if (flags.json) return printJson(rows);
        printTable(
          ['TIME', 'WHO', 'WHAT', 'KEY', 'BEFORE', 'AFTER'],
          rows.map((row) => [new Date(row.at).toISOString().replace('T', ' ').slice(0, 19), row.actor, `${row.verb} ${row.entity}`, row.key, brief(row.before), brief(row.after)]),
        );
      }),
    );
}
