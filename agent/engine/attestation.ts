import type { Attestation, AttestationNotVisible } from './types';

/** A quoted display name (or the rest of the text after an unclosed quote): caller text, never read for verstat. */
const QUOTED = /"(?:[^"\\]|\\.)*(?:"|$)/g;
/** `verstat` as a URI or header parameter, or the whole value. */
const VERSTAT = /(?:^|;)\s*verstat\s*=\s*([A-Za-z0-9_.-]+)/i;
/** Longer header text is not an attestation: not even looked at. */
const MAX_ATTESTATION_TEXT = 2048;

/** What a word can mean: a level, failed, or "no attestation" (a carrier saying it did not check). */
export const ATTESTATION_MEANINGS: readonly Attestation[] = ['A', 'B', 'C', 'failed', 'none'];

/** A word in the mapping: letters, digits and `-_.` (what a header value or verstat carries), one word, up to 64. */
export const ATTESTATION_WORD = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Words → attestation as carriers and switches send them, in any case. `verstat` values
 * (TN-Validation-Passed[-A|B|C], TN-Validation-Failed[-A|B|C], No-TN-Validation), levels
 * as a header such as P-Attestation-Indicator carries them, and FreeSWITCH's own verifier
 * (sip_verstat_detailed names the level of a failed signature too: failed all the same).
 * Passed with no level says the signature checked out, not how much the signer vouched: B.
 */
export const DEFAULT_ATTESTATION_WORDS: Readonly<Record<string, Attestation>> = {
  A: 'A',
  B: 'B',
  C: 'C',
  failed: 'failed',
  'TN-Validation-Passed-A': 'A',
  'TN-Validation-Passed-B': 'B',
  'TN-Validation-Passed-C': 'C',
  'TN-Validation-Passed': 'B',
  'TN-Validation-Failed': 'failed',
  'TN-Validation-Failed-A': 'failed',
  'TN-Validation-Failed-B': 'failed',
  'TN-Validation-Failed-C': 'failed',
  'No-TN-Validation': 'none',
};

/** The mapping the parser uses: upper-case word → attestation. */
export type AttestationWords = ReadonlyMap<string, Attestation>;

/** The built-in words with the operator's (`attestation.words`, checked at config load) added or overriding. */
export function attestationWords(extra: Readonly<Record<string, string>> = {}): AttestationWords {
  const words = new Map<string, Attestation>();
  for (const [word, meaning] of [...Object.entries(DEFAULT_ATTESTATION_WORDS), ...Object.entries(extra)]) {
    // Checked where the config is read (config/check.ts); a word that slipped past is left out, never guessed at.
    if (ATTESTATION_WORD.test(word) && (ATTESTATION_MEANINGS as readonly string[]).includes(meaning)) words.set(word.toUpperCase(), meaning as Attestation);
  }
  return words;
}

export const DEFAULT_WORDS: AttestationWords = attestationWords();

/**
 * STIR/SHAKEN as a PBX or carrier may report it: a word of the mapping (`A`, `failed`,
 * `TN-Validation-Passed-B`, a carrier's own), or a whole P-Asserted-Identity or From
 * header (sip: or tel: URI, anonymous ones too) carrying `;verstat=` (a display name is
 * not looked at). Anything else counts as none. The text is the caller's: only read.
 */
export function parseAttestation(value: string | undefined | null, words: AttestationWords = DEFAULT_WORDS): Attestation {
  if (!value || value.length > MAX_ATTESTATION_TEXT) return 'none';
  const text = value.trim();
  const verstat = VERSTAT.exec(text.replace(QUOTED, '""'))?.[1] ?? text;
  return words.get(verstat.toUpperCase()) ?? 'none';
}

/** One line for explain: why attestation is unknown and how to see it. */
export function describeNotVisible(fact: AttestationNotVisible): string {
  return `attestation not visible: ${fact.fix}`;
}
