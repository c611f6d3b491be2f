import type { ActionName } from './types';

/** Spec order: block > disconnected > busy > voicemail > identify > challenge > allow. Identify asks more of a caller than a key press, and may still ring. */
const SEVERITY: Record<ActionName, number> = {
  allow: 0,
  forward: 0,
  challenge: 1,
  identify: 2,
  voicemail: 3,
  busy: 4,
  disconnected: 5,
  block: 6,
};

export function moreSevere(a: ActionName, b: ActionName): boolean {
  return SEVERITY[a] > SEVERITY[b];
}
