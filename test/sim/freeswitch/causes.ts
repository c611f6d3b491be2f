// Hangup causes as FreeSWITCH names and numbers them (switch_types.h / CAUSE_CHART),
// plus the SIP status -> cause mapping mod_sofia applies to `respond`.

export const CAUSES: Readonly<Record<string, number>> = {
  NONE: 0,
  UNALLOCATED_NUMBER: 1,
  NO_ROUTE_TRANSIT_NET: 2,
  NO_ROUTE_DESTINATION: 3,
  CHANNEL_UNACCEPTABLE: 6,
  CALL_AWARDED_DELIVERED: 7,
  NORMAL_CLEARING: 16,
  USER_BUSY: 17,
  NO_USER_RESPONSE: 18,
  NO_ANSWER: 19,
  SUBSCRIBER_ABSENT: 20,
  CALL_REJECTED: 21,
  NUMBER_CHANGED: 22,
  REDIRECTION_TO_NEW_DESTINATION: 23,
  EXCHANGE_ROUTING_ERROR: 25,
  DESTINATION_OUT_OF_ORDER: 27,
  INVALID_NUMBER_FORMAT: 28,
  FACILITY_REJECTED: 29,
  RESPONSE_TO_STATUS_ENQUIRY: 30,
  NORMAL_UNSPECIFIED: 31,
  NORMAL_CIRCUIT_CONGESTION: 34,
  NETWORK_OUT_OF_ORDER: 38,
  NORMAL_TEMPORARY_FAILURE: 41,
  SWITCH_CONGESTION: 42,
  ACCESS_INFO_DISCARDED: 43,
  REQUESTED_CHAN_UNAVAIL: 44,
  PRE_EMPTED: 45,
  FACILITY_NOT_SUBSCRIBED: 50,
  OUTGOING_CALL_BARRED: 52,
  INCOMING_CALL_BARRED: 54,
  BEARERCAPABILITY_NOTAUTH: 57,
  BEARERCAPABILITY_NOTAVAIL: 58,
  SERVICE_UNAVAILABLE: 63,
  BEARERCAPABILITY_NOTIMPL: 65,
  CHAN_NOT_IMPLEMENTED: 66,
  FACILITY_NOT_IMPLEMENTED: 69,
  SERVICE_NOT_IMPLEMENTED: 79,
  INVALID_CALL_REFERENCE: 81,
  INCOMPATIBLE_DESTINATION: 88,
  INVALID_MSG_UNSPECIFIED: 95,
  MANDATORY_IE_MISSING: 96,
  MESSAGE_TYPE_NONEXIST: 97,
  WRONG_MESSAGE: 98,
  IE_NONEXIST: 99,
  INVALID_IE_CONTENTS: 100,
  WRONG_CALL_STATE: 101,
  RECOVERY_ON_TIMER_EXPIRE: 102,
  MANDATORY_IE_LENGTH_ERROR: 103,
  PROTOCOL_ERROR: 111,
  INTERWORKING: 127,
  SUCCESS: 142,
  ORIGINATOR_CANCEL: 487,
  CRASH: 700,
  SYSTEM_SHUTDOWN: 701,
  LOSE_RACE: 702,
  MANAGER_REQUEST: 703,
  BLIND_TRANSFER: 800,
  ATTENDED_TRANSFER: 801,
  ALLOTTED_TIMEOUT: 802,
  USER_CHALLENGE: 803,
  MEDIA_TIMEOUT: 804,
  PICKED_OFF: 805,
  USER_NOT_REGISTERED: 806,
  PROGRESS_TIMEOUT: 807,
  INVALID_GATEWAY: 808,
  GATEWAY_DOWN: 809,
  INVALID_URL: 810,
  INVALID_PROFILE: 811,
  NO_PICKUP: 812,
  SRTP_READ_ERROR: 813,
  BOWOUT: 814,
  BUSY_EVERYWHERE: 815,
  DECLINE: 816,
  DOES_NOT_EXIST_ANYWHERE: 817,
  NOT_ACCEPTABLE: 818,
  UNWANTED: 819,
  NO_IDENTITY: 820,
  BAD_IDENTITY_INFO: 821,
  UNSUPPORTED_CERTIFICATE: 822,
  INVALID_IDENTITY: 823,
  STALE_DATE: 824,
  REJECT_ALL: 825,
};

const BY_CODE = new Map<number, string>(Object.entries(CAUSES).map(([k, v]) => [v, k]));

export interface Cause {
  name: string;
  code: number;
}

/**
 * switch_channel_str2cause: a name (any case) or a number; anything else is
 * NORMAL_CLEARING. Unknown numbers keep their number and are named as FreeSWITCH
 * would print them (it prints "UNKNOWN" for codes outside the chart).
 */
export function parseCause(text: string | undefined): Cause {
  const t = (text ?? '').trim();
  if (t === '') return { name: 'NORMAL_CLEARING', code: 16 };
  const first = t.charCodeAt(0);
  if (first >= 0x30 && first <= 0x39) {
    const code = Number.parseInt(t, 10);
    return { name: BY_CODE.get(code) ?? 'UNKNOWN', code };
  }
  const upper = t.toUpperCase();
  const code = CAUSES[upper];
  return code === undefined ? { name: 'NORMAL_CLEARING', code: 16 } : { name: upper, code };
}

export function causeByName(name: string): Cause {
  const code = CAUSES[name];
  if (code === undefined) throw new Error(`unknown hangup cause ${name}`);
  return { name, code };
}

/** sofia_glue_sip_cause_to_freeswitch. */
export function sipStatusToCause(status: number): Cause {
  const map: Record<number, string> = {
    200: 'NORMAL_CLEARING',
    401: 'CALL_REJECTED',
    402: 'CALL_REJECTED',
    403: 'CALL_REJECTED',
    407: 'CALL_REJECTED',
    603: 'CALL_REJECTED',
    608: 'CALL_REJECTED',
    607: 'UNWANTED',
    404: 'UNALLOCATED_NUMBER',
    485: 'NO_ROUTE_DESTINATION',
    604: 'NO_ROUTE_DESTINATION',
    408: 'RECOVERY_ON_TIMER_EXPIRE',
    504: 'RECOVERY_ON_TIMER_EXPIRE',
    410: 'NUMBER_CHANGED',
    413: 'INTERWORKING',
    414: 'INTERWORKING',
    416: 'INTERWORKING',
    420: 'INTERWORKING',
    421: 'INTERWORKING',
    423: 'INTERWORKING',
    505: 'INTERWORKING',
    513: 'INTERWORKING',
    480: 'NO_USER_RESPONSE',
    400: 'NORMAL_TEMPORARY_FAILURE',
    481: 'NORMAL_TEMPORARY_FAILURE',
    500: 'NORMAL_TEMPORARY_FAILURE',
    503: 'NORMAL_TEMPORARY_FAILURE',
    486: 'USER_BUSY',
    600: 'USER_BUSY',
    484: 'INVALID_NUMBER_FORMAT',
    488: 'INCOMPATIBLE_DESTINATION',
    606: 'INCOMPATIBLE_DESTINATION',
    502: 'NETWORK_OUT_OF_ORDER',
    405: 'SERVICE_UNAVAILABLE',
    406: 'SERVICE_NOT_IMPLEMENTED',
    415: 'SERVICE_NOT_IMPLEMENTED',
    501: 'SERVICE_NOT_IMPLEMENTED',
    482: 'EXCHANGE_ROUTING_ERROR',
    483: 'EXCHANGE_ROUTING_ERROR',
    487: 'ORIGINATOR_CANCEL',
    428: 'NO_IDENTITY',
    429: 'BAD_IDENTITY_INFO',
    437: 'UNSUPPORTED_CERTIFICATE',
    438: 'INVALID_IDENTITY',
  };
  return causeByName(map[status] ?? 'NORMAL_UNSPECIFIED');
}

/** DIALSTATUS values the bridge app leaves behind for a failed originate. */
export function dialStatusFor(cause: string): string {
  switch (cause) {
    case 'USER_BUSY':
      return 'BUSY';
    case 'NO_ANSWER':
    case 'NO_USER_RESPONSE':
    case 'ALLOTTED_TIMEOUT':
      return 'NOANSWER';
    case 'ORIGINATOR_CANCEL':
      return 'CANCEL';
    case 'UNALLOCATED_NUMBER':
    case 'NO_ROUTE_DESTINATION':
    case 'INVALID_NUMBER_FORMAT':
      return 'INVALIDARGS';
    case 'NORMAL_CIRCUIT_CONGESTION':
    case 'SWITCH_CONGESTION':
      return 'CONGESTION';
    default:
      return 'CHANUNAVAIL';
  }
}
