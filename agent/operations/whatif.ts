import type { Readable } from 'node:stream';
import { BadInput, inField } from '../engine/bad-input';
import { parseDuration } from '../engine/duration';
import { prefixedNamePattern } from '../engine/names';
import { parsePatternList } from '../engine/patterns';
import type { MatchSpec } from '../engine/patterns';
import type { ActiveRule } from '../engine/types';
import { replay } from '../replay/replay';
import type { LoggedCallPages, ReplayPeriod, ReplayTables } from '../replay/replay';
import { loggedCallPages } from '../replay/logged-call-pages';
import type { Proposal, ProposedPolicy } from '../replay/proposal';
import { WhatIfTally } from '../replay/whatif-report';
import type { WhatIfReport } from '../replay/whatif-report';
import { scheduleOf } from '../store/decision-snapshot';
import type { RuleOptions } from '../store/rules';
import { maySee } from './acting';
import type { Acting } from './acting';
import { parseCategory, parsePolicyAction } from './categories';
import { protectionRowFor } from './protection';
import { parseRuleOptions } from './rule-options';
import { changeableRule } from './rules';
import { readRulesCsv } from './rules-csv';
import type { Backends } from './store-backends';
import { changeableSettingScope, readableTenant } from './tenant-access';
import { DEFAULT_THREADING, tallyInThreads } from './whatif-threads';
import type { Threading } from './whatif-threads';
import type { AnonymousCallerIds } from '../engine/numbers';

export const DEFAULT_WHATIF_PERIOD = '7d';

/** A proposed change, as the CLI's flags or the API's JSON body give it. */
export interface WhatIfInput {
  /** How far back (`7d` unless given). */
  readonly since?: string | undefined;
  /** Only this tenant's calls; the settings changed are then its own. */
  readonly tenant?: string | undefined;
  readonly protection?: 'on' | 'off' | boolean | undefined;
  readonly threshold?: string | number | undefined;
  readonly flagThreshold?: string | number | null | undefined;
  /** `anonymous=block`, as many as wanted. */
  readonly categories?: readonly string[] | undefined;
  /** `404-555*=challenge`: the pattern and action of `rules add`. */
  readonly add?: readonly string[] | undefined;
  /** `#12` or `12`: rules by id. */
  readonly remove?: readonly string[] | undefined;
  /** Rules in the export format, to add. */
  readonly rulesCsv?: Readable | undefined;
  /** List the changed calls themselves. */
  readonly list?: boolean | undefined;
}

type WhatIfStores = Pick<Backends, 'rules' | 'tenants' | 'protection' | 'calls' | 'replayTables' | 'replaySplit'>;

/** One replay to tally, whole or a part of its period: handed as it is to a thread (plain data, Sets, Maps and RegExps clone). */
export interface WhatIfJob {
  readonly period: ReplayPeriod;
  readonly proposal: Proposal;
  /** Whose calls count: one tenant's, else all the person asking may see. */
  readonly counted: { readonly tenant: string | null; readonly acting: Acting };
  /** Keep the changed calls themselves. */
  readonly list: boolean;
  readonly country: string;
  readonly anonymous: AnonymousCallerIds | undefined;
}

/** Replays the job's period in this thread, tallying the calls that count. */
export async function tallyHere(tables: ReplayTables, pages: LoggedCallPages, job: WhatIfJob): Promise<WhatIfTally> {
  const { tenant, acting } = job.counted;
  const counts = (call: { tenant: string }) => (tenant === null ? maySee(acting, call.tenant) : call.tenant === tenant);
  const tally = new WhatIfTally(job.list);
  await replay(tables, pages, job.period, job.proposal, (replayed) => counts(replayed.call) && tally.add(replayed), job.country, job.anonymous);
  return tally;
}

/**
 * What a proposed change would have done to the calls logged in a period: every call
 * replayed as things are and as they would be (agent/replay/replay.ts). Each part of the
 * proposal is checked as the command that makes it checks it; nothing is written.
 */
export async function whatIf(
  stores: WhatIfStores,
  acting: Acting,
  input: WhatIfInput,
  country: string,
  now = Date.now(),
  /** What "no caller ID" means (config `anonymous`), as the agent decides. */
  anonymous?: AnonymousCallerIds,
  /** When the replay is split between threads. */
  threading: Threading = DEFAULT_THREADING,
): Promise<WhatIfReport> {
  const period = { from: now - inField('since', () => parseDuration(input.since ?? DEFAULT_WHATIF_PERIOD, 'period')), until: now };
  const tenant = (await readableTenant(stores.tenants, acting, input.tenant)) ?? null;
  const proposal = await proposalOf(stores, acting, input, tenant, country, now);
  if (proposal.changes.length === 0) {
    throw new BadInput('nothing to try: give a change (--threshold, --flag-threshold, --protection, --category, --add, --remove or --rules-file)');
  }
  const job: WhatIfJob = { period, proposal, counted: { tenant, acting }, list: input.list ?? false, country, anonymous };
  const tally = (await tallyInThreads(stores.replaySplit, job, threading)) ?? (await tallyHere(await stores.replayTables(), loggedCallPages(stores.calls), job));
  const report = tally.report(period, tenant, proposal.changes);
  if (report.calls === 0) {
    throw new BadInput(`no calls were logged in the last ${input.since ?? DEFAULT_WHATIF_PERIOD}${tenant ? ` for tenant ${tenant}` : ''}: nothing to replay`, 'since');
  }
  return report;
}

const scopeWords = (scope: string) => (scope === 'global' ? 'every tenant' : scope.replace(/^tenant:/, 'tenant '));

async function proposalOf(stores: WhatIfStores, acting: Acting, input: WhatIfInput, tenant: string | null, country: string, now: number): Promise<Proposal> {
  const changes: string[] = [];
  const protection = await proposedProtection(stores, acting, input, tenant ?? undefined);
  if (protection) {
    const flag = protection.flagThreshold === null ? 'no flagging' : `flag from ${protection.flagThreshold}`;
    changes.push(`protection for ${scopeWords(protection.scope)}: ${protection.enabled ? `on, threshold ${protection.threshold}, ${flag}, ${protection.action}` : 'off'}`);
  }
  const categories: ProposedPolicy[] = [];
  for (const text of input.categories ?? []) {
    const [name, action] = splitAt(text, '=', 'category', 'anonymous=block');
    const category = parseCategory(name);
    const policy = { scope: await changeableSettingScope(stores.tenants, acting, tenant ?? undefined), category, action: inField('category', () => parsePolicyAction(action, category)) };
    categories.push(policy);
    changes.push(`${policy.category} callers of ${scopeWords(policy.scope)}: ${policy.action}`);
  }
  const added: { match: MatchSpec; options: RuleOptions }[] = [];
  const scope = tenant ? `tenant:${tenant}` : undefined;
  if ((input.add?.length ?? 0) > 0) await changeableSettingScope(stores.tenants, acting, tenant ?? undefined, 'add');
  for (const text of input.add ?? []) {
    const [patterns, action] = splitAt(text, '=', 'add', "'404-555*=challenge'", true);
    const options = parseRuleOptions({ action, scope }, country, now);
    // A caller-name rule is written as the rules file writes it: `name:V9*=block`, `name-word:SPAM=block`.
    const named = inField('add', () => prefixedNamePattern(patterns));
    for (const match of named ? [named] : inField('add', () => parsePatternList(patterns, country))) added.push({ match, options });
    changes.push(`add ${patterns.trim()} = ${action.trim()} (${scopeWords(options.scope)})`);
  }
  if (input.rulesCsv) {
    const fromFile = await readRulesCsv(stores.rules, acting, input.rulesCsv, country, now);
    added.push(...fromFile);
    changes.push(`add the ${fromFile.length} rule(s) of the rules file`);
  }
  const removeIds = new Set<number>();
  for (const text of input.remove ?? []) {
    const id = /^#?\d{1,15}$/.test(text.trim()) ? Number(text.trim().replace('#', '')) : NaN;
    if (!Number.isSafeInteger(id)) throw new BadInput(`bad rule "${text}" to remove: expected a rule id such as #12`, 'remove');
    const rule = await changeableRule(stores.rules, acting, id, country);
    removeIds.add(id);
    changes.push(`remove rule #${id} (${rule.pattern} = ${rule.action})`);
  }
  return { protection, categories, addRules: added.map((rule, i) => proposedRule(rule, -(i + 1), now)), removeIds, changes };
}

/** The protection setting the flags would store; null when they change nothing of it. */
async function proposedProtection(stores: WhatIfStores, acting: Acting, input: WhatIfInput, tenant: string | undefined): Promise<Proposal['protection']> {
  if (input.protection === undefined && input.threshold === undefined && input.flagThreshold === undefined) return null;
  const enabled = input.protection === undefined ? undefined : input.protection === true || input.protection === 'on' ? true : input.protection === false || input.protection === 'off' ? false : badSwitch(input.protection);
  const row = await protectionRowFor(stores, acting, { tenant, enabled, threshold: input.threshold, flagThreshold: input.flagThreshold });
  if (!row.enabled && enabled === undefined) {
    throw new BadInput(`protection is off for ${tenant ? `tenant ${tenant}` : 'every tenant'}: add --protection on to try a threshold`, 'protection');
  }
  return row;
}

function badSwitch(value: string): never {
  throw new BadInput(`bad protection "${value}": expected on or off`, 'protection');
}

/** `text` cut at the last `mark` into two non-empty parts, else bad input naming `field` and showing `example`. */
function splitAt(text: string, mark: string, field: string, example: string, last = false): [string, string] {
  const at = last ? text.lastIndexOf(mark) : text.indexOf(mark);
  const [left, right] = at < 0 ? ['', ''] : [text.slice(0, at), text.slice(at + 1)];
  if (!left.trim() || !right.trim()) throw new BadInput(`bad --${field} "${text}": expected ${example}`, field);
  return [left, right];
}

function proposedRule({ match, options }: { match: MatchSpec; options: RuleOptions }, id: number, now: number): ActiveRule {
  return {
    id,
    scope: options.scope,
    kind: match.kind,
    key: match.key,
    pattern: match.pattern,
    action: options.action,
    target: options.target,
    sms: options.sms,
    span: match.span,
    list: options.list,
    expiresAt: options.expiresAt,
    updatedAt: now,
    schedule: scheduleOf(options.when ?? null, options.tz ?? null),
  };
}
