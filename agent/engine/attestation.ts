import type { Attestation } from './types';

/**
 * STIR/SHAKEN as a PBX may report it: an attestation level (`A`, `B`, `C`),
 * or a `verstat` value from P-Asserted-Identity (TN-Validation-Passed[-A|B|C],
 * TN-Validation-Failed, No-TN-Validation). Anything else counts as none.
 */
export function parseAttestation(value: string | undefined | null): Attestation {
  if (!value) return 'none';
  const text = value.trim();
  const verstat = /verstat=([A-Za-z-]+)/i.exec(text)?.[1] ?? text;
  const upper = verstat.toUpperCase();
  if (upper === 'A' || upper === 'B' || upper === 'C') return upper;
  if (upper === 'FAILED' || upper === 'TN-VALIDATION-FAILED') return 'failed';
  const passed = /^TN-VALIDATION-PASSED(?:-([ABC]))?$/.exec(upper);
  // Passed with no level says the signature checked out, not how much the signer vouched: count it as B.
  if (passed) return (passed[1] as 'A' | 'B' | 'C' | undefined) ?? 'B';
  return 'none';
}
