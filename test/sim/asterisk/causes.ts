// Hangup reasons and Q.850 causes as Asterisk 22 maps them (BEHAVIOUR.md table, channel.c texts).

/** `DELETE /channels/{id}?reason=` value → cause recorded on the channel. */
export const HANGUP_REASON_CAUSES: Readonly<Record<string, number>> = {
  normal: 16,
  busy: 17,
  congestion: 34,
  no_answer: 19,
  timeout: 18,
  rejected: 21,
  unallocated: 1,
  normal_unspecified: 31,
  number_incomplete: 28,
  codec_mismatch: 58,
  interworking: 127,
  failure: 38,
  answered_elsewhere: 26,
};

/** ChannelHangupRequest.cause for an ARI hangup: the soft-hangup flag, not a Q.850 cause. */
export const SOFTHANGUP_EXPLICIT = 32;

const CAUSE_TEXT: Readonly<Record<number, string>> = {
  1: 'Unallocated (unassigned) number',
  2: 'No route to specified transmit network',
  3: 'No route to destination',
  5: 'Misdialed trunk prefix',
  6: 'Channel unacceptable',
  7: 'Call awarded and being delivered in an established channel',
  8: 'Pre-empted',
  14: 'Number ported elsewhere',
  16: 'Normal Clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'User alerting, no answer',
  20: 'Subscriber absent',
  21: 'Call Rejected',
  22: 'Number changed',
  23: 'Redirected to new destination',
  26: 'Answered elsewhere',
  27: 'Destination out of order',
  28: 'Invalid number format',
  29: 'Facility rejected',
  30: 'Response to STATus ENQuiry',
  31: 'Normal, unspecified',
  34: 'Circuit/channel congestion',
  38: 'Network out of order',
  41: 'Temporary failure',
  42: 'Switching equipment congestion',
  43: 'Access information discarded',
  44: 'Requested channel not available',
  50: 'Facility not subscribed',
  52: 'Outgoing call barred',
  54: 'Incoming call barred',
  57: 'Bearer capability not authorized',
  58: 'Bearer capability not available',
  65: 'Bearer capability not implemented',
  66: 'Channel not implemented',
  69: 'Facility not implemented',
  81: 'Invalid call reference value',
  88: 'Incompatible destination',
  95: 'Invalid message unspecified',
  96: 'Mandatory information element is missing',
  97: 'Message type nonexist.',
  98: 'Wrong message',
  99: 'Info. element nonexist or not implemented',
  100: 'Invalid information element contents',
  101: 'Message not compatible with call state',
  102: 'Recover on timer expiry',
  103: 'Mandatory IE length error',
  111: 'Protocol error, unspecified',
  127: 'Interworking, unspecified',
};

export function causeText(cause: number): string {
  return CAUSE_TEXT[cause] ?? 'Unknown';
}

/** Dial event status for an outbound leg that ended with `cause` before answering. */
export function dialStatusForCause(cause: number): string {
  switch (cause) {
    case 17:
    case 21:
      return 'BUSY';
    case 18:
    case 19:
      return 'NOANSWER';
    case 34:
    case 38:
    case 41:
    case 42:
      return 'CONGESTION';
    default:
      return 'CHANUNAVAIL';
  }
}
