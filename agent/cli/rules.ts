import type { Command } from 'commander';
import { BadInput } from '../engine/bad-input';
import { parsePattern } from '../engine/patterns';
import { isNameKind, prefixedNamePattern, writtenNamePattern } from '../engine/names';
import { formatScope, parseScope } from '../engine/scope';
import type { RuleRow } from '../store/rules';
import { withContext } from './action';
import type { CliContext } from './context';
import { cell, isoOrEmpty, printJson, printTable } from './print';
import { cliActing } from '../operations/acting';
import type { RuleFlags } from '../operations/rule-options';
import { addRules, everyRule, listLists, removeRules, setListEnabled } from '../operations/rules';
import type { RuleBackend } from '../store/rule-backend';
import { exportRules, importRules, parseImportFormat } from './rules-csv';

interface ListFlags {
  scope?: string;
  list?: string;
  limit?: string;
  json?: boolean;
}

function describeRule(rule: RuleRow): string {
  const action = rule.target ? `${rule.action} ${rule.target}` : rule.action;
  const window = rule.when ? `, ${rule.when} ${rule.tz}` : '';
  const pattern = isNameKind(rule.kind) ? writtenNamePattern(rule.kind, rule.pattern) : rule.pattern;
  return `#${rule.id} ${action} ${pattern} (${rule.scope}${rule.sms ? ', texts too' : ''}${rule.list ? `, list ${rule.list}` : ''}${window})`;
}

function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text)) throw new BadInput(`bad limit "${text}": expected a whole number`);
  return Number(text);
}

async function listRules(ctx: CliContext, flags: ListFlags): Promise<void> {
  const filter = {
    scope: flags.scope === undefined ? undefined : formatScope(parseScope(flags.scope, ctx.country)),
    list: flags.list,
    limit: parseLimit(flags.limit),
  };
  const now = Date.now();
  const rows = everyRule((await ctx.backends()).rules, filter);
  if (flags.json) {
    // Streamed: a million-rule listing never sits in memory.
    let first = true;
    process.stdout.write('[');
    for await (const rule of rows) {
      process.stdout.write((first ? '\n' : ',\n') + JSON.stringify({ ...rule, expired: rule.expiresAt !== null && rule.expiresAt <= now }));
      first = false;
    }
    process.stdout.write(first ? ']\n' : '\n]\n');
    return;
  }
  const columns = ['ID', 'SCOPE', 'KIND', 'PATTERN', 'ACTION', 'TARGET', 'SMS', 'LIST', 'EXPIRES', 'WHEN', 'NOTE'];
  const widths = [7, 24, 9, 22, 12, 14, 4, 12, 25, 30, 0];
  const line = (values: string[]) => values.map((value, i) => (widths[i] ? value.padEnd(widths[i]!) : value)).join(' ').trimEnd();
  process.stdout.write(line(columns) + '\n');
  for await (const rule of rows) {
    const expires = rule.expiresAt === null ? '' : rule.expiresAt <= now ? 'expired' : isoOrEmpty(rule.expiresAt);
    const values = [rule.id, rule.scope, rule.kind, rule.pattern, rule.action, rule.target, rule.sms ? 'yes' : '', rule.list, expires, rule.when ? `${rule.when} ${rule.tz}` : '', rule.note];
    process.stdout.write(line(values.map(cell)) + '\n');
  }
}

/** `12`, `#12` or `id:12` name a rule by id; anything else is a pattern. A bare number that is both is refused. */
async function rulesToRemove(rules: RuleBackend, country: string, selector: string, scopeText: string | undefined): Promise<RuleRow[]> {
  const scope = scopeText === undefined ? undefined : formatScope(parseScope(scopeText, country));
  const explicitId = /^(?:#|id:)(\d+)$/i.exec(selector.trim());
  const bareId = /^\d+$/.test(selector.trim()) ? Number(selector.trim()) : undefined;
  if (explicitId) return byId(rules, Number(explicitId[1]), scope);
  let byPattern: RuleRow[] = [];
  try {
    const spec = prefixedNamePattern(selector) ?? parsePattern(selector, country);
    byPattern = await rules.byMatch(spec.key, spec.kind, scope);
  } catch (error) {
    if (bareId === undefined) throw error;
  }
  if (bareId !== undefined) {
    const rule = await rules.byId(bareId);
    if (rule && byPattern.length > 0) {
      throw new BadInput(`"${selector}" is both rule #${bareId} and a pattern: say #${bareId} for the rule or ${selector}* for the prefix`);
    }
    if (rule) return byId(rules, bareId, scope);
  }
  if (byPattern.length === 0) throw new BadInput(`no rule matches "${selector}"${scope ? ` in scope ${scope}` : ''}`);
  return byPattern;
}

async function byId(rules: RuleBackend, id: number, scope: string | undefined): Promise<RuleRow[]> {
  const rule = await rules.byId(id);
  if (!rule || (scope !== undefined && rule.scope !== scope)) throw new BadInput(`no rule #${id}${scope ? ` in scope ${scope}` : ''}`);
  return [rule];
}

export function registerRules(program: Command): void {
  const rules = program.command('rules').description('number and address rules: block, allow, challenge, forward…');
  rules
    .command('add [patterns]')
    .description('add rules; several comma-separated patterns make one rule each (all or none); or one caller-name rule with --name or --name-word')
    .option('--name <glob>', "a caller-name rule instead of patterns: the caller ID name, * for any run of characters ('V9*'), case and spacing ignored")
    .option('--name-word <words>', "a caller-name rule: these whole words anywhere in the caller ID name ('SPAM')")
    .requiredOption('--action <action>', 'allow, block, challenge, busy, disconnected, voicemail[:box] or forward[:number]')
    .option('--to <target>', 'forward number, or voicemail box')
    .option('--scope <scope>', 'global, tenant:<name> or did:<number>', 'global')
    .option('--sms', 'also stop texts from these callers')
    .option('--note <text>', 'a note for people')
    .option('--list <name>', 'put the rules in a named list')
    .option('--expires <when>', 'a duration (30d, 12h) or an ISO date')
    .option('--when <windows>', 'only within these weekly windows: "mon-fri 09:00-17:00, sat 10:00-14:00", overnight "22:00-07:00"')
    .option('--tz <zone>', 'IANA time zone of --when (default: this machine\'s)')
    .action(
      withContext(async (ctx, patterns: string | undefined, flags: RuleFlags & { name?: string; nameWord?: string }) => {
        if (patterns === undefined && flags.name === undefined && flags.nameWord === undefined) throw new BadInput('give the patterns to add, or --name or --name-word for a caller-name rule');
        if (patterns !== undefined && (flags.name !== undefined || flags.nameWord !== undefined)) throw new BadInput(`give either patterns or --name/--name-word, not both ("${patterns}")`);
        for (const rule of await addRules((await ctx.backends()).rules, cliActing(ctx.actor), { ...flags, patterns }, ctx.country)) console.log(`added ${describeRule(rule)}`);
      }),
    );
  rules
    .command('list')
    .description('list rules')
    .option('--scope <scope>', 'only this scope')
    .option('--list <name>', 'only this list')
    .option('--limit <n>', 'at most this many')
    .option('--json', 'print JSON')
    .action(withContext((ctx, flags: ListFlags) => listRules(ctx, flags)));
  rules
    .command('remove <rule>')
    .description("remove a rule by id (12, #12) or by pattern (unblock; a name rule as 'name:V9*' or 'name-word:SPAM'); without --scope a pattern is removed from every scope")
    .option('--scope <scope>', 'only in this scope')
    .action(
      withContext(async (ctx, selector: string, flags: { scope?: string }) => {
        const rules = (await ctx.backends()).rules;
        const doomed = await rulesToRemove(rules, ctx.country, selector, flags.scope);
        for (const rule of await removeRules(rules, cliActing(ctx.actor), doomed.map((rule) => rule.id), ctx.country)) console.log(`removed ${describeRule(rule)}`);
      }),
    );
  rules
    .command('import <file>')
    .description('import rules from CSV (columns pattern,action,target,scope,sms,note,list,expires, or one pattern per line); all or nothing')
    .option('--action <action>', 'action for every row (overrides the column)')
    .option('--scope <scope>', 'scope for every row (overrides the column)')
    .option('--list <name>', 'list for every row (overrides the column)')
    .option('--format <format>', 'callguard (the export format) or ftc (FTC Do Not Call complaint CSV: Company_Phone_Number; list ftc-dnc, action block)', 'callguard')
    .action(withContext((ctx, file: string, flags: Partial<RuleFlags> & { format?: string }) => importRules(ctx, file, flags, parseImportFormat(flags.format))));
  rules
    .command('export')
    .description('write rules as CSV to standard output, in the form rules import reads')
    .option('--list <name>', 'only this list')
    .option('--scope <scope>', 'only this scope')
    .action(withContext((ctx, flags: { list?: string; scope?: string }) => exportRules(ctx, flags)));

  const lists = program.command('lists').description('named lists of rules, switched on and off as a whole');
  for (const [verb, enabled] of [['enable', true], ['disable', false]] as const) {
    lists
      .command(`${verb} <name>`)
      .description(`${verb} every rule of a list`)
      .action(
        withContext(async (ctx, name: string) => {
          await setListEnabled((await ctx.backends()).rules, cliActing(ctx.actor), name, enabled, ctx.country);
          console.log(`list ${name} ${enabled ? 'enabled' : 'disabled'}`);
        }),
      );
  }
  lists
    .command('list')
    .option('--json', 'print JSON')
    .description('list the lists')
    .action(
      withContext(async (ctx, flags: { json?: boolean }) => {
        const rows = (await listLists((await ctx.backends()).rules, cliActing(ctx.actor), ctx.country)).map(({ name, enabled, rules }) => ({ name, enabled, rules }));
        if (flags.json) return printJson(rows);
        printTable(['LIST', 'ENABLED', 'RULES'], rows.map((row) => [row.name, row.enabled ? 'yes' : 'no', row.rules]));
      }),
    );
}
