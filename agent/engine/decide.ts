import { allowOnlyStep } from './allow-only';
import { describeNotVisible } from './attestation';
import { candidateKeys } from './candidate-keys';
import { describeCategory, inCategory } from './categories';
import type { CategoryInput } from './categories';
import type { DecisionStore, DecisionView, RuleShape } from './decision-store';
import { normalizeNumber } from './numbers';
import type { AnonymousCallerIds } from './numbers';
import { describeMatch, pickRule } from './pick-rule';
import { nameStep } from './name-step';
import { identifyOnce, keyedInNote } from './identified';
import { callbackLookup, callbackPastAllowOnly, describeCallback, trustedCallback } from './trusted-callback';
import type { CallbackLookup } from './trusted-callback';
import { protect } from './protection';
import { rememberedPass } from './remembered-pass';
import { isOpen } from './time-window';
import type { Schedule } from './time-window';
import { scopesOfCall } from './scope';
import { moreSevere } from './severity';
import { CATEGORIES } from './types';
import type { ActionName, ActiveRule, CallFacts, Category, CallerIdentity, Decision, E164 } from './types';

export interface EngineSettings {
  /** ISO country whose national number forms are understood (`US`). */
  readonly country: string;
  /** Wall-clock time of the decision, ms since the epoch. */
  readonly now: number;
  /** What counts as "no caller ID" (config `anonymous`); the built-in words when absent. */
  readonly anonymous?: AnonymousCallerIds | undefined;
}

function callerSummary(facts: CallFacts, identity: CallerIdentity): string {
  switch (identity.kind) {
    case 'number':
      return `Caller ${identity.e164}${keyedInNote(facts)}`;
    case 'anonymous':
      return `Caller is anonymous: ${identity.why}`;
    case 'invalid':
      return `Caller ${JSON.stringify(facts.from.slice(0, 40))}${facts.from.length > 40 ? '…' : ''} is invalid: ${identity.why}`;
  }
}

/**
 * The decision for one call or text: number and address rules, then caller
 * categories, then robocall protection, else through (a callback to a number the
 * tenant called goes through before the categories). Pure: reads only the store
 * it is handed (and facts looked up before, such as a reputation score).
 */
export function decide(facts: CallFacts, store: DecisionStore, settings: EngineSettings): Decision {
  const view = store.view();
  const decision = identifyOnce(facts, rememberedPass(decideSteps(facts, view, settings), view, settings.now));
  if (decision.action === 'allow' || !view.monitors(decision.tenant)) return decision;
  const what = facts.kind === 'sms' ? 'text' : 'call';
  return { ...decision, monitored: true, reasons: [...decision.reasons, `Tenant ${decision.tenant} is in monitor mode: the ${what} goes through; ${decision.action} is what would have happened.`] };
}

/** The keys step 1 looks rules up by: a replay reads them for many calls at once, before deciding them. */
export function ruleKeysOf(facts: CallFacts, shape: RuleShape, country: string, anonymousIds?: AnonymousCallerIds): string[] {
  const parsed = normalizeNumber(facts.from, country, anonymousIds);
  const anonymous = parsed.kind === 'anonymous' || !!facts.privacy;
  return candidateKeys({ number: parsed.kind === 'number' ? parsed.e164 : null, anonymous, ip: facts.ip, sipFrom: facts.sipFrom }, shape);
}

function describeSchedule(schedule: Schedule): string {
  return `${schedule.text} (${schedule.tz})`;
}

/** What the deciding rule (number, address or name) makes of the call or text, its closing reasons added. */
function ruleVerdict(rule: ActiveRule, kind: CallFacts['kind'], reasons: string[]) {
  const action: ActionName = kind === 'sms' && rule.action !== 'allow' ? 'block' : rule.action;
  if (action === 'allow') reasons.push('An allow rule ends screening: the call goes through.');
  if (action !== rule.action) reasons.push('Texts cannot be busied or redirected: the text is blocked.');
  return { action, target: rule.target, scope: rule.scope, ruleId: rule.id, category: null, categories: [] };
}

/** Who the caller is (a number the PBX marks private is anonymous), and its number even then. */
function callerOf(facts: CallFacts, settings: EngineSettings): { identity: CallerIdentity; number: E164 | null } {
  const parsed = normalizeNumber(facts.from, settings.country, settings.anonymous);
  const identity: CallerIdentity =
    facts.privacy && parsed.kind !== 'anonymous' ? { kind: 'anonymous', why: 'the PBX marks the caller ID as private' } : parsed;
  return { identity, number: parsed.kind === 'number' ? parsed.e164 : null };
}

/** The number called, when it is one, and whose it is. */
function calledOf(facts: CallFacts, view: DecisionView, settings: EngineSettings): { did: E164 | null; tenant: string } {
  const calledNumber = normalizeNumber(facts.to, settings.country);
  const did = calledNumber.kind === 'number' ? calledNumber.e164 : null;
  return { did, tenant: did ? view.tenantOfDid(did) : 'default' };
}

/** The outbound-call lookup deciding this call makes, if any: a replay reads those of a page's calls at once. */
export function callbackLookupOf(facts: CallFacts, view: DecisionView, settings: EngineSettings): CallbackLookup | null {
  return callbackLookup(callerOf(facts, settings).identity, calledOf(facts, view, settings).tenant, view, settings.now);
}

function decideSteps(facts: CallFacts, view: DecisionView, settings: EngineSettings): Decision {
  const reasons: string[] = [];
  const { identity, number } = callerOf(facts, settings);
  const { did, tenant } = calledOf(facts, view, settings);
  reasons.push(
    `${callerSummary(facts, identity)}; ${did ? `number called ${did}` : 'number called is not a phone number'}, tenant ${tenant}.`,
  );

  const base = { kind: facts.kind, tenant, did, caller: number, callerKind: identity.kind, score: null, flagged: false, signals: [] };
  const scopes = scopesOfCall(did, tenant);
  const keys = ruleKeysOf(facts, view.shape, settings.country, settings.anonymous);
  const rules = view
    .rulesFor(keys, scopes, settings.now)
    .filter((rule) => facts.kind === 'call' || rule.sms || rule.action === 'allow')
    .filter((rule) => {
      if (!rule.schedule) return true;
      const open = isOpen(rule.schedule, settings.now);
      reasons.push(`Step 1: rule #${rule.id} (${rule.scope}, ${describeMatch(rule)}) is ${open ? 'inside' : 'outside'} its window ${describeSchedule(rule.schedule)}${open ? '' : ' and takes no part'}.`);
      return open;
    });
  const rule = pickRule(rules, scopes);
  if (rule) {
    reasons.push(`Step 1: rule #${rule.id} (${rule.scope}, ${describeMatch(rule)}) says ${rule.action}${rule.target ? ` ${rule.target}` : ''}.`);
    for (const other of rules) {
      if (other !== rule) reasons.push(`Step 1: rule #${other.id} (${other.scope}, ${describeMatch(other)}) also matches but is outranked.`);
    }
    return { ...base, ...ruleVerdict(rule, facts.kind, reasons), reasons };
  }
  reasons.push(`Step 1: no number or address rule matches${facts.kind === 'sms' ? ' this text (only --sms rules block texts)' : ''}.`);
  // Allow-only mode: no number or address rule let the caller through (nor stopped it). Before the
  // name rules: a caller chooses its name freely, so a name never lets it past allow-only mode.
  // A number the tenant's users called is wanted back: past allow-only mode, though not past a name rule.
  const callback = trustedCallback(facts, identity, tenant, view, settings.now, reasons);
  const allowOnlySetting = view.allowOnly(tenant, did);
  const allowOnly = callback && facts.kind === 'call' ? callbackPastAllowOnly(allowOnlySetting, callback, reasons) : allowOnlyStep(allowOnlySetting, tenant, facts.kind, reasons);
  if (allowOnly) return { ...base, action: allowOnly.action, target: null, scope: allowOnly.scope, ruleId: null, category: null, categories: [], reasons };
  const named = nameStep(facts, view, scopes, settings.now, reasons);
  if (named) return { ...base, ...ruleVerdict(named, facts.kind, reasons), reasons };
  if (callback) return { ...base, action: 'allow', target: null, scope: null, ruleId: null, category: null, categories: [], reasons: [...reasons, describeCallback(callback)] };

  const input: CategoryInput = { caller: identity, did, attestation: facts.attestation ?? 'none', country: settings.country };
  const categories: Category[] = [];
  let verdict: { category: Category; action: ActionName; scope: string } | null = null;
  if (facts.kind === 'call') {
    if (typeof input.attestation !== 'string') reasons.push(`Step 2: ${describeNotVisible(input.attestation)}; the unverified category cannot apply.`);
    for (const category of CATEGORIES) {
      const candidates = view.categoryPolicies(tenant, category);
      // Costly categories (number types) are looked at only when some policy could act on them.
      if (candidates.every((candidate) => candidate.action === 'allow') || !inCategory(category, input)) continue;
      const policy = candidates.find((candidate) => {
        if (!candidate.schedule) return true;
        const open = isOpen(candidate.schedule, settings.now);
        reasons.push(`Step 2: the ${category} policy (${candidate.scope}, ${candidate.action}) is ${open ? 'inside' : 'outside'} its window ${describeSchedule(candidate.schedule)}.`);
        return open;
      });
      if (!policy || policy.action === 'allow') continue;
      categories.push(category);
      reasons.push(`Step 2: caller is ${describeCategory(category, input)}; policy (${policy.scope}) says ${policy.action}.`);
      if (!verdict || moreSevere(policy.action, verdict.action)) verdict = { category, action: policy.action, scope: policy.scope };
    }
    if (verdict && categories.length > 1) reasons.push(`Step 2: the most severe policy wins: ${verdict.action} (${verdict.category}).`);
    if (!verdict) reasons.push('Step 2: no caller category with a policy other than allow applies.');
  } else {
    reasons.push('Step 2: caller categories apply to calls only.');
  }
  if (verdict) {
    return { ...base, action: verdict.action, target: null, scope: verdict.scope, ruleId: null, category: verdict.category, categories, reasons };
  }

  const protection = protect(facts, input, tenant, scopes, view, settings.now);
  if (!protection) reasons.push('Step 3: robocall protection is off.');
  else reasons.push(...protection.reasons);
  const scored = { ...base, score: protection?.score ?? null, signals: protection?.signals ?? [], categories, ruleId: null, category: null, target: null };
  if (protection && (protection.action !== 'allow' || protection.flagged)) {
    const action: ActionName = protection.action !== 'allow' && facts.kind === 'sms' ? 'block' : protection.action;
    return { ...scored, action, scope: protection.scope, flagged: protection.flagged, reasons };
  }

  reasons.push(`Step 4: nothing stopped the ${facts.kind === 'sms' ? 'text' : 'call'}: it goes through.`);
  return { ...scored, action: 'allow', scope: null, reasons };
}

