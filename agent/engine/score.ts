import { describeNotVisible } from './attestation';
import { inCategory } from './categories';
import type { CategoryInput } from './categories';
import type { CallerHistory } from './decision-store';
import { isValidNumber } from './full-metadata';
import type { ScoreSettings } from './score-settings';
import type { Attestation, AttestationFact, ReputationAnswer, ScoreSignal } from './types';

export interface ScoreInput {
  readonly category: CategoryInput;
  readonly history: CallerHistory | null;
  /** Each reputation source's answer, in the sources' order. */
  readonly reputation: readonly ReputationAnswer[] | undefined;
  readonly settings: ScoreSettings;
}

type AttestationKey = 'attestation_a' | 'attestation_b' | 'attestation_c' | 'attestation_failed' | 'attestation_missing';

const ATTESTATION: Record<Attestation, { key: AttestationKey; why: string }> = {
  A: { key: 'attestation_a', why: 'STIR/SHAKEN full attestation (A): the carrier vouches for the caller' },
  B: { key: 'attestation_b', why: 'STIR/SHAKEN partial attestation (B): the carrier knows the customer, not the number' },
  C: { key: 'attestation_c', why: 'STIR/SHAKEN gateway attestation (C): the carrier cannot vouch for the caller' },
  failed: { key: 'attestation_failed', why: 'STIR/SHAKEN verification failed' },
  none: { key: 'attestation_missing', why: 'no STIR/SHAKEN attestation on the call' },
};

/** An attestation that could not be seen scores as a missing one (as before it was told apart), and says why. */
function attestationPoints(fact: AttestationFact): { key: AttestationKey; why: string } {
  if (typeof fact === 'string') return ATTESTATION[fact];
  return { key: 'attestation_missing', why: `${describeNotVisible(fact)}; scored as no attestation` };
}

/** The signals of the robocall risk score, each with its points and why. */
export function scoreSignals({ category, history, reputation, settings }: ScoreInput): ScoreSignal[] {
  const signals: ScoreSignal[] = [];
  const add = (signal: string, points: number, why: string) => {
    if (points !== 0) signals.push({ signal, points, why });
  };
  const attestation = attestationPoints(category.attestation);
  add('attestation', settings[attestation.key], attestation.why);

  const { caller } = category;
  if (caller.kind === 'invalid') add('invalid_number', settings.invalid_number, `the caller ID is not a phone number (${caller.why})`);
  else if (caller.kind === 'number' && !isValidNumber(caller.e164)) add('invalid_number', settings.invalid_number, `${caller.e164} is not a valid number for its country`);

  if (inCategory('neighbor', category)) add('neighbor', settings.neighbor, 'same area code and exchange as the number called (neighbour spoofing)');

  if (history) {
    if (history.calls >= settings.velocity_calls) {
      add('velocity_calls', settings.velocity_calls_points, `${history.calls} calls from this number within ${settings.velocity_window} (limit ${settings.velocity_calls})`);
    }
    if (history.dids >= settings.velocity_dids) {
      add('velocity_dids', settings.velocity_dids_points, `calls to ${history.dids} different numbers within ${settings.velocity_window} (limit ${settings.velocity_dids})`);
    }
    if (history.failed > 0) {
      add('failed_challenges', Math.min(2, history.failed) * settings.failed_challenge, `${history.failed} failed challenge(s) within ${settings.history_window}`);
    }
    if (history.passed > 0) add('passed_challenges', settings.passed_challenge, `${history.passed} passed challenge(s) within ${settings.history_window}`);
  }

  for (const answer of reputation ?? []) signals.push(reputationSignal(answer));
  return signals;
}

/**
 * A source's score × its weight; a source that failed or is not trusted adds nothing, and
 * says why. Every source asked has its signal, 0 points too, so explain shows each answer.
 */
function reputationSignal(answer: ReputationAnswer): ScoreSignal {
  const signal = `reputation:${answer.source}`;
  if (answer.kind === 'failed') return { signal, points: 0, why: `reputation source ${answer.source} gave no score (${answer.why}); scored without it` };
  if (answer.kind === 'untrusted') return { signal, points: 0, why: `reputation source ${answer.source} is not trusted (${answer.why}); scored without it` };
  return { signal, points: Math.round(answer.score * answer.weight), why: `reputation source ${answer.source} scores this number ${answer.score}/100 (weight ${answer.weight})` };
}

export function totalScore(signals: readonly ScoreSignal[]): number {
  return Math.max(0, Math.min(100, signals.reduce((sum, signal) => sum + signal.points, 0)));
}
