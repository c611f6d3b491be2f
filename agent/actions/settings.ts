/** How the actions behave; every value has a default an operator can override. */
export interface ActionSettings {
  readonly challenge: {
    /** The key that lets the caller through. */
    readonly digit: string;
    readonly timeoutMs: number;
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
  flag: { namePrefix: 'SPAM? ', variable: 'callguard_suspected_spam' },
};
