import type { E164, Scope } from './types';
import { BadInput } from './bad-input';
import { normalizeNumber } from './numbers';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Tenant and list names: they appear in scopes and on command lines, so a plain alphabet. */
export function checkName(name: string, what: 'tenant' | 'list'): string {
  if (!NAME.test(name)) {
    throw new BadInput(`bad ${what} name "${name}": expected letters, digits, '.', '_' or '-' (up to 64, starting with a letter or digit)`);
  }
  return name;
}

export function checkTenantName(name: string): string {
  return checkName(name, 'tenant');
}

export function parseScope(text: string, country: string): Scope {
  const trimmed = text.trim();
  if (trimmed === 'global') return { kind: 'global' };
  const colon = trimmed.indexOf(':');
  const head = colon < 0 ? trimmed : trimmed.slice(0, colon);
  const rest = colon < 0 ? '' : trimmed.slice(colon + 1);
  if (head === 'tenant' && rest) return { kind: 'tenant', tenant: checkTenantName(rest) };
  if (head === 'did' && rest) {
    const did = normalizeNumber(rest, country);
    if (did.kind !== 'number') throw new BadInput(`bad scope "${text}": "${rest}" is not a phone number`);
    return { kind: 'did', did: did.e164 };
  }
  throw new BadInput(`bad scope "${text}": expected global, tenant:<name> or did:<number>`);
}

export function formatScope(scope: Scope): string {
  switch (scope.kind) {
    case 'global':
      return 'global';
    case 'tenant':
      return `tenant:${scope.tenant}`;
    case 'did':
      return `did:${scope.did}`;
  }
}

/** The scopes a call to `did` of `tenant` is screened under, most specific first. */
export function scopesOfCall(did: E164 | null, tenant: string): string[] {
  const scopes = [`tenant:${tenant}`, 'global'];
  if (did) scopes.unshift(`did:${did}`);
  return scopes;
}
