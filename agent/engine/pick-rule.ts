import { describeNameMatch } from './names';
import type { ActiveRule } from './types';

function isExact(rule: ActiveRule): boolean {
  switch (rule.kind) {
    case 'number':
      return true;
    case 'ip':
      return rule.span === null;
    case 'sip':
      return rule.key.startsWith('sip:');
    default:
      return false;
  }
}

function newer(a: ActiveRule, b: ActiveRule): boolean {
  return a.updatedAt !== b.updatedAt ? a.updatedAt > b.updatedAt : a.id > b.id;
}

/** Within one kind of pattern: longer prefix or network first, then newer. */
function moreSpecific(a: ActiveRule, b: ActiveRule): boolean {
  const spanA = a.span ?? 0;
  const spanB = b.span ?? 0;
  return spanA !== spanB ? spanA > spanB : newer(a, b);
}

function newest(rules: readonly ActiveRule[]): ActiveRule | undefined {
  return rules.reduce<ActiveRule | undefined>((best, rule) => (!best || newer(rule, best) ? rule : best), undefined);
}

/**
 * The spec's precedence among matching rules: the most specific scope with any
 * match wins; in it an exact number, address or URI beats any pattern; within a
 * kind of pattern the longer wins; among equals, the newest.
 */
export function pickRule(rules: readonly ActiveRule[], scopes: readonly string[]): ActiveRule | undefined {
  for (const scope of scopes) {
    const inScope = rules.filter((rule) => rule.scope === scope);
    if (inScope.length === 0) continue;
    const exact = inScope.filter(isExact);
    if (exact.length > 0) return newest(exact);
    const bestOfKind = new Map<string, ActiveRule>();
    for (const rule of inScope) {
      const held = bestOfKind.get(rule.kind);
      if (!held || moreSpecific(rule, held)) bestOfKind.set(rule.kind, rule);
    }
    return newest([...bestOfKind.values()]);
  }
  return undefined;
}

export function describeMatch(rule: ActiveRule): string {
  switch (rule.kind) {
    case 'number':
      return `exact number ${rule.key}`;
    case 'prefix':
      return `prefix ${rule.key}`;
    case 'anonymous':
      return 'anonymous callers';
    case 'ip':
      return isExact(rule) ? `address ${rule.pattern}` : `network ${rule.pattern}`;
    case 'sip':
      return isExact(rule) ? `SIP URI ${rule.pattern}` : `SIP domain ${rule.pattern}`;
    case 'name':
    case 'name_word':
      return describeNameMatch(rule);
  }
}
