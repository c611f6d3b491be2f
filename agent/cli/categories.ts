import type { Command } from 'commander';
import { CATEGORIES, POLICY_ACTIONS } from '../engine/types';
import { cliActing } from '../operations/acting';
import { allPolicies, setCategory } from '../operations/categories';
import { withContext } from './action';
import { printJson, printTable } from './print';

export function registerCategories(program: Command): void {
  const categories = program
    .command('categories')
    .description(`what to do with kinds of caller: ${CATEGORIES.join(', ')}`);
  categories
    .command('set <category> <action>')
    .option('--tenant <name>', 'for this tenant only (default: every tenant without its own policy)')
    .option('--when <windows>', 'only within these weekly windows, e.g. "mon-fri 17:00-09:00" (outside office hours)')
    .option('--tz <zone>', 'IANA time zone of --when (default: this machine\'s)')
    .description(`set a category's policy (${POLICY_ACTIONS.join(', ')}); the most severe of several wins`)
    .action(
      withContext(async (ctx, category: string, action: string, options: { tenant?: string; when?: string; tz?: string }) => {
        const view = await setCategory(await ctx.backends(), cliActing(ctx.actor), { category, action, ...options });
        const policy = (options.tenant === undefined ? view.global : view.own)!;
        console.log(`${view.category}: ${policy.action} (${policy.scope}${policy.when ? `, ${policy.when} ${policy.tz}` : ''})`);
      }),
    );
  categories
    .command('remove <category>')
    .option('--tenant <name>', "remove this tenant's own policy (it falls back to the global one)")
    .description('remove a category policy (without --tenant: the global one; the category is then allowed where no tenant policy applies)')
    .action(
      withContext(async (ctx, category: string, options: { tenant?: string }) => {
        const view = await setCategory(await ctx.backends(), cliActing(ctx.actor), { category, action: null, tenant: options.tenant });
        const inForce = view.inForce;
        console.log(`${view.category}: ${inForce ? `${inForce.action} (${inForce.scope})` : 'allow (no policy)'}`);
      }),
    );
  categories
    .command('list')
    .option('--json', 'print JSON')
    .description('list category policies (a category with none is allowed)')
    .action(
      withContext(async (ctx, options: { json?: boolean }) => {
        const rows = await allPolicies(await ctx.backends());
        if (options.json) return printJson(rows);
        printTable(['SCOPE', 'CATEGORY', 'ACTION', 'WHEN'], rows.map((row) => [row.scope, row.category, row.action, row.when ? `${row.when} ${row.tz}` : '']));
      }),
    );
}
