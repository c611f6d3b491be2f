import type { Schedule } from './time-window';

/** A phone number in E.164 form, `+` and digits only. Made only by the number normaliser. */
export type E164 = string & { readonly __brand: 'E164' };

/** Where a rule or policy applies: every tenant, one tenant, or one dialled number. */
export type Scope =
  | { readonly kind: 'global' }
  | { readonly kind: 'tenant'; readonly tenant: string }
  | { readonly kind: 'did'; readonly did: E164 };

/** What a rule may do. */
export const RULE_ACTIONS = ['allow', 'block', 'challenge', 'busy', 'disconnected', 'voicemail', 'forward'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];
/**
 * What a decision may do: a rule's actions, and `identify` (ask a caller with no usable
 * number to key one in, then screen the call again as that number), which only the
 * anonymous and invalid category policies and allow-only mode give: a rule matched by
 * number already has one.
 */
export const ACTIONS = [...RULE_ACTIONS, 'identify'] as const;
export type ActionName = (typeof ACTIONS)[number];

export const CATEGORIES = [
  'anonymous',
  'invalid',
  'toll_free',
  'premium',
  'international',
  'neighbor',
  'unverified',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** Actions a category policy may take (forward needs a target, so it is a rule-only action). */
export const POLICY_ACTIONS = ['allow', 'challenge', 'identify', 'voicemail', 'busy', 'disconnected', 'block'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** `name` and `name_word` match the caller ID name (agent/engine/names.ts), not looked up by key. */
export const MATCH_KINDS = ['number', 'prefix', 'anonymous', 'ip', 'sip', 'name', 'name_word'] as const;
export type MatchKind = (typeof MATCH_KINDS)[number];

export type MessageKind = 'call' | 'sms';

/** STIR/SHAKEN verdict on the caller's identity; `none` when the call carried none. */
export type Attestation = 'A' | 'B' | 'C' | 'failed' | 'none';

/**
 * The PBX handed over the caller's asserted identity with its parameters stripped (FreeSWITCH's
 * stock P-Asserted-Identity parsing keeps only the user part), so a `verstat` the call may have
 * carried was lost: whether it was attested is unknown. Never makes a caller unverified.
 */
export interface AttestationNotVisible {
  readonly kind: 'not_visible';
  /** What the operator changes on the PBX to see it, for explain and the call log. */
  readonly fix: string;
}

/** What the engine is told about STIR/SHAKEN on a call: a verdict, or that none could be seen. */
export type AttestationFact = Attestation | AttestationNotVisible;

/** What the PBX (or the operator, for explain) tells us about one inbound call or text. */
export interface CallFacts {
  readonly kind: MessageKind;
  /** Calling number exactly as signalled: untrusted, any content. */
  readonly from: string;
  /** Dialled number (DID) as signalled. */
  readonly to: string;
  readonly callerName?: string | undefined;
  /** Signalling source address. */
  readonly ip?: string | undefined;
  /** SIP From URI. */
  readonly sipFrom?: string | undefined;
  /** The PBX says the caller asked for privacy (number withheld). */
  readonly privacy?: boolean | undefined;
  readonly attestation?: AttestationFact | undefined;
  readonly carrier?: string | undefined;
  /**
   * The caller ID as signalled, when `from` is the number the caller keyed in after the
   * identify action asked (agent/actions/identify.ts): the call is being screened again.
   */
  readonly identifiedFrom?: string | undefined;
  /** What each reputation source said, in the sources' order, looked up before the decision (the engine does no I/O). */
  readonly reputation?: readonly ReputationAnswer[] | undefined;
}

/** One reputation lookup's result; also the whole reputation fact of calls logged before there were several sources. */
export type Reputation = { readonly kind: 'score'; readonly score: number } | { readonly kind: 'failed'; readonly why: string };

/**
 * One source's answer for a call, with the weight it had then (so a replay adds the same
 * points); `untrusted`: the source is flagged (agent/screening/reputation-health.ts) and
 * its answer, if any, does not count.
 */
export type ReputationAnswer = { readonly source: string; readonly weight: number } & (Reputation | { readonly kind: 'untrusted'; readonly why: string });

/** One reason the risk score moved. */
export interface ScoreSignal {
  readonly signal: string;
  readonly points: number;
  readonly why: string;
}

/** The caller as the engine understood it. */
export type CallerIdentity =
  | { readonly kind: 'number'; readonly e164: E164 }
  | { readonly kind: 'anonymous'; readonly why: string }
  | { readonly kind: 'invalid'; readonly why: string };

/** A rule as the decision engine sees it. */
export interface ActiveRule {
  readonly id: number;
  readonly scope: string;
  readonly kind: MatchKind;
  readonly key: string;
  readonly pattern: string;
  readonly action: RuleAction;
  readonly target: string | null;
  readonly sms: boolean;
  /** Prefix digits or CIDR bits; null for exact and non-length kinds. */
  readonly span: number | null;
  readonly list: string | null;
  readonly expiresAt: number | null;
  readonly updatedAt: number;
  /** When the rule takes part; null: always. */
  readonly schedule: Schedule | null;
}

/** The verdict for one call or text, with every reason that led to it. */
export interface Decision {
  readonly action: ActionName;
  /** Forward number or voicemail box, when the action has one. */
  readonly target: string | null;
  readonly kind: MessageKind;
  readonly tenant: string;
  readonly did: E164 | null;
  readonly caller: E164 | null;
  readonly callerKind: CallerIdentity['kind'];
  /** Scope of the rule or policy that decided; null when nothing did. */
  readonly scope: string | null;
  readonly ruleId: number | null;
  readonly category: Category | null;
  readonly categories: readonly Category[];
  /** Robocall risk score 0-100, when protection scored the call. */
  readonly score: number | null;
  /** Every point of that score, explained. */
  readonly signals: readonly ScoreSignal[];
  /** Let through but marked as suspected spam. */
  readonly flagged: boolean;
  /** The tenant is in monitor mode: the action is what would have happened; the call goes through. Absent: enforced. */
  readonly monitored?: boolean;
  readonly reasons: readonly string[];
}
