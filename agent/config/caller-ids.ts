import { attestationWords } from '../engine/attestation';
import type { AttestationWords } from '../engine/attestation';
import { anonymousCallerIds } from '../engine/numbers';
import type { AnonymousCallerIds } from '../engine/numbers';
import { CONFIG_DEFAULTS } from './schema';

/** What the config says caller IDs and attestation words mean, ready for the engine and the drivers. */
export interface CallerIdSettings {
  readonly anonymous: AnonymousCallerIds;
  readonly attestationWords: AttestationWords;
}

/** The config's `anonymous` and `attestation` sections (already checked: config/check.ts), missing keys at their defaults. */
export interface CallerIdSections {
  readonly anonymous?: { readonly words?: readonly string[]; readonly numbers?: readonly string[] } | undefined;
  readonly attestation?: { readonly words?: Readonly<Record<string, string>> } | undefined;
}

/**
 * The same for `serve` (from its loaded config) and for the command line (from the config
 * file it was given), so `explain` decides as the agent does.
 */
export function callerIdSettings(sections: CallerIdSections, country: string): CallerIdSettings {
  const anonymous = { ...CONFIG_DEFAULTS.anonymous, ...sections.anonymous };
  return {
    anonymous: anonymousCallerIds({ words: anonymous.words, numbers: anonymous.numbers }, country),
    attestationWords: attestationWords(sections.attestation?.words ?? {}),
  };
}
