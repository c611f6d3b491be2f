import type { E164 } from '../engine/types';

/** Why a call is cleared, in Q.850 terms; each driver maps these to its own words. */
export type HangupCause = 'CALL_REJECTED' | 'USER_BUSY' | 'UNALLOCATED_NUMBER' | 'NORMAL_CLEARING';

export const Q850: Record<HangupCause, number> = {
  UNALLOCATED_NUMBER: 1,
  NORMAL_CLEARING: 16,
  USER_BUSY: 17,
  CALL_REJECTED: 21,
};

/** The recordings in prompts/ (callguard-<name>.wav). */
export type Prompt = 'not-accepted' | 'challenge' | 'identify' | 'goodbye' | 'not-in-service';

/** How a number is keyed in: up to `maxDigits` keys, `#` ending sooner. */
export interface NumberEntry {
  readonly maxDigits: number;
  /** Wait for the first key, from the prompt's end. */
  readonly timeoutMs: number;
  /** Wait for each next key; then what was keyed is taken. */
  readonly digitTimeoutMs: number;
}

/** The caller hung up (or the channel vanished) while an action was under way. */
export class CallerGone extends Error {
  override readonly name = 'CallerGone';
  constructor(readonly during: string) {
    super(`caller hung up during ${during}`);
  }
}

/**
 * The small, PBX-neutral set of things an action can do to one inbound call. The
 * FreeSWITCH and Asterisk drivers implement it and nothing else; every method rejects
 * with CallerGone once the caller has hung up.
 */
export interface CallControl {
  /** Early media (183 Session Progress) so a prompt can play without answering. */
  earlyMedia(): Promise<void>;
  answer(): Promise<void>;
  play(prompt: Prompt): Promise<void>;
  /** Plays the prompt and waits up to `timeoutMs` for one key; null when none came. */
  promptForDigit(prompt: Prompt, timeoutMs: number): Promise<string | null>;
  /** Plays the prompt and collects keys 0-9 as `entry` says; null when none came. */
  promptForNumber(prompt: Prompt, entry: NumberEntry): Promise<string | null>;
  hangup(cause: HangupCause): Promise<void>;
  /** Hands the call back to the dialplan's normal route. */
  continueRoute(): Promise<void>;
  /** Straight to voicemail: `box` when the rule named one, else the DID's own. */
  voicemail(box: string | null): Promise<void>;
  /** Bridges to `number`, caller ID kept. 'failed' leaves the call free to continue its route. */
  forward(number: E164): Promise<'answered' | 'failed'>;
  /** Marks a call let through as suspected spam: caller-name prefix and a channel variable. */
  markSuspected(namePrefix: string, variable: string): Promise<void>;
}
