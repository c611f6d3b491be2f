/** How the actions behave; every value has a default an operator can override. */
export interface ActionSettings {
  readonly challenge: {
    /** The key that lets the caller through. */
    readonly digit: string;
    readonly timeoutMs: number;
    readonly tries: number;
  };
  readonly identify: {
    /** Keys taken at most: a 10-digit national number, or 11 with the leading 1. `#` ends it sooner. */
    readonly maxDigits: number;
    /** How long to wait for the first key once the prompt has played. */
    readonly timeoutMs: number;
    /** How long to wait for each next key before taking what was keyed. */
    readonly digitTimeoutMs: number;
    readonly tries: number;
  };
  readonly flag: {
    /** Put before the caller name of a call let through as suspected spam. */
    readonly namePrefix: string;
    /** Channel variable set to `true` on such a call. */
    readonly variable: string;
  };
}

export const DEFAULT_ACTION_SETTINGS: ActionSettings = {
  challenge: { digit: '1', timeoutMs: 5000, tries: 2 },
  identify: { maxDigits: 11, timeoutMs: 8000, digitTimeoutMs: 3000, tries: 2 },
  flag: { namePrefix: 'SPAM? ', variable: 'callguard_suspected_spam' },
};
