import type { Attestation, AttestationNotVisible } from './types';

/** A quoted display name (or the rest of the text after an unclosed quote): caller text, never read for verstat. */
const QUOTED = /"(?:[^"\\]|\\.)*(?:"|$)/g;
/** `verstat` as a URI or header parameter, or the whole value. */
const VERSTAT = /(?:^|;)\s*verstat\s*=\s*([A-Za-z-]+)/i;

/**
 * STIR/SHAKEN as a PBX may report it: an attestation level (`A`, `B`, `C`, `failed`), a
 * `verstat` value (TN-Validation-Passed[-A|B|C], TN-Validation-Failed[-A|B|C],
 * No-TN-Validation), or a whole P-Asserted-Identity or From header carrying `;verstat=`
 * (a display name is not looked at). Anything else counts as none.
 */
export function parseAttestation(value: string | undefined | null): Attestation {
  if (!value) return 'none';
  const text = value.trim();
  const verstat = VERSTAT.exec(text.replace(QUOTED, '""'))?.[1] ?? text;
  const upper = verstat.toUpperCase();
  if (upper === 'A' || upper === 'B' || upper === 'C') return upper;
  // FreeSWITCH's own verifier names the level of a failed signature too (sip_verstat_detailed): failed all the same.
  if (upper === 'FAILED' || /^TN-VALIDATION-FAILED(?:-[ABC])?$/.test(upper)) return 'failed';
  const passed = /^TN-VALIDATION-PASSED(?:-([ABC]))?$/.exec(upper);
  // Passed with no level says the signature checked out, not how much the signer vouched: count it as B.
  if (passed) return (passed[1] as 'A' | 'B' | 'C' | undefined) ?? 'B';
  return 'none';
}

/** One line for explain: why attestation is unknown and how to see it. */
export function describeNotVisible(fact: AttestationNotVisible): string {
  return `attestation not visible: ${fact.fix}`;
}
