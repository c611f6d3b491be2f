import type { Command } from 'commander';
import { cliActing } from '../operations/acting';
import { DEFAULT_SOURCE_TIMEOUT_MS, DEFAULT_SOURCE_WEIGHT, addSource, listSources, moveSource, removeSource } from '../operations/reputation';
import type { ReputationSourceRow } from '../store/reputation-backend';
import { withContext } from './action';
import { cell, printJson, printTable } from './print';

interface AddFlags {
  url: string;
  timeoutMs?: string;
  weight?: string;
  position?: string;
}

const described = (row: ReputationSourceRow) => `${row.position}. ${cell(row.name)}: ${cell(row.url)}, timeout ${row.timeoutMs} ms, weight ${row.weight}`;

export function registerReputation(program: Command): void {
  const reputation = program.command('reputation').description('reputation sources: services asked for a 0-100 score of a caller protection scores');
  reputation
    .command('add <name>')
    .description('add a source (asked with the others at once; its score × weight is added to the risk score)')
    .requiredOption('--url <template>', 'http(s) URL with {number} where the caller goes, e.g. https://rep.example/v1/score?number={number}')
    .option('--timeout-ms <10-10000>', `how long a call waits for it (default ${DEFAULT_SOURCE_TIMEOUT_MS}; cut to fit the agent's decision limit)`)
    .option('--weight <0-1>', `the share of its score that counts (default ${DEFAULT_SOURCE_WEIGHT})`)
    .option('--position <n>', 'its place in the order, 1 first (default last)')
    .action(withContext(async (ctx, name: string, flags: AddFlags) => console.log(`added ${described(await addSource(await ctx.backends(), cliActing(ctx.actor), { name, ...flags }))}`)));
  reputation
    .command('list')
    .description('the sources, in order (their health is in the agent\'s /healthz and metrics)')
    .option('--json', 'print JSON')
    .action(
      withContext(async (ctx, flags: { json?: boolean }) => {
        const rows = await listSources(await ctx.backends(), cliActing(ctx.actor));
        if (flags.json) return printJson(rows);
        printTable(['#', 'NAME', 'URL', 'TIMEOUT MS', 'WEIGHT'], rows.map((row) => [row.position, row.name, row.url, row.timeoutMs, row.weight]));
      }),
    );
  reputation
    .command('remove <name>')
    .description('remove a source; the later ones move up')
    .action(withContext(async (ctx, name: string) => console.log(`removed ${described(await removeSource(await ctx.backends(), cliActing(ctx.actor), name))}`)));
  reputation
    .command('move <name> <position>')
    .description('put a source at another place in the order (1 first)')
    .action(withContext(async (ctx, name: string, to: string) => console.log(`moved ${described(await moveSource(await ctx.backends(), cliActing(ctx.actor), name, to))}`)));
}
