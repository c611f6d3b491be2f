import type { Decision } from '../engine/types';
import type { CallControl } from './call-control';
import type { ActionSettings } from './settings';

export interface ActionContext {
  readonly call: CallControl;
  readonly decision: Decision;
  readonly settings: ActionSettings;
}
