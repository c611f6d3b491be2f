/** What happened after a decision, as the call log keeps it. */
export type OutcomeName =
  | 'continued' // handed back to the normal route (allow, challenge passed, forward failed then continued)
  | 'rejected' // cleared by block, busy or disconnected
  | 'passed' // challenge passed
  | 'failed' // challenge failed, or identify got no number
  | 'identified' // identify: the caller keyed in a number; the call was screened again as that number (its own log row)
  | 'voicemail'
  | 'answered' // forward answered
  | 'forward_failed' // forward failed; the call went on to its normal route
  | 'hungup' // the caller left during an action
  | 'monitored' // monitor mode: let through; the action logged is what would have happened
  | 'error'; // the action could not be carried out; the fail mode applied

export interface Outcome {
  readonly outcome: OutcomeName;
  readonly detail: string | null;
}
