import type { Command } from 'commander';
import { BadInput } from '../engine/bad-input';
import { CATEGORIES, POLICY_ACTIONS } from '../engine/types';
import type { Category, PolicyAction } from '../engine/types';
import { withContext } from './action';
import { parseWindow } from '../operations/rule-options';
import { printJson, printTable } from './print';

function parseCategory(text: string): Category {
  const name = text.trim().toLowerCase().replace('-', '_');
  if (!(CATEGORIES as readonly string[]).includes(name)) {
    throw new BadInput(`unknown category "${text}": expected one of ${CATEGORIES.join(', ')}`);
  }
  return name as Category;
}

function parsePolicyAction(text: string): PolicyAction {
  const name = text.trim().toLowerCase();
  if (!(POLICY_ACTIONS as readonly string[]).includes(name)) {
    throw new BadInput(`unknown category action "${text}": expected one of ${POLICY_ACTIONS.join(', ')}`);
  }
  return name as PolicyAction;
}

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
      withContext((ctx, categoryText: string, actionText: string, options: { tenant?: string; when?: string; tz?: string }) => {
        const category = parseCategory(categoryText);
        const action = parsePolicyAction(actionText);
        const window = parseWindow(options.when, options.tz);
        const scope = options.tenant === undefined ? 'global' : `tenant:${ctx.tenants.requireTenant(options.tenant)}`;
        ctx.categories.set(scope, category, action, window);
        console.log(`${category}: ${action} (${scope}${window ? `, ${window.when} ${window.tz}` : ''})`);
      }),
    );
  categories
    .command('list')
    .option('--json', 'print JSON')
    .description('list category policies (a category with none is allowed)')
    .action(
      withContext((ctx, options: { json?: boolean }) => {
        const rows = ctx.categories.list();
        if (options.json) return printJson(rows);
        printTable(['SCOPE', 'CATEGORY', 'ACTION', 'WHEN'], rows.map((row) => [row.scope, row.category, row.action, row.when ? `${row.when} ${row.tz}` : '']));
      }),
    );
}
