import type { ActionName } from './types';

/** Spec order: block > disconnected > busy > voicemail > challenge > allow. */
const SEVERITY: Record<ActionName, number> = {
  allow: 0,
  forward: 0,
  challenge: 1,
  voicemail: 2,
  busy: 3,
  disconnected: 4,
  block: 5,
};

export function moreSevere(a: ActionName, b: ActionName): boolean {
  return SEVERITY[a] > SEVERITY[b];
}
