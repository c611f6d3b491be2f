import type { Decision } from '../engine/types';
import type { CallControl } from './call-control';
import type { Outcome } from './outcome';
import type { ActionSettings } from './settings';

/** The call screened again, decided, logged and carried out, as the number the caller keyed in. */
export interface Rescreened {
  readonly uid: string;
  readonly number: string;
  readonly decision: Decision;
  readonly outcome: Outcome;
}

export interface ActionContext {
  readonly call: CallControl;
  readonly decision: Decision;
  readonly settings: ActionSettings;
  /**
   * Screens the call again as the number keyed in (identify): null, without doing anything,
   * when the keys are not a phone number, so the caller can be asked again.
   */
  readonly rescreen: (keyed: string) => Promise<Rescreened | null>;
}
