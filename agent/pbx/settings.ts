import type { AttestationWords } from '../engine/attestation';

/** PBX-side settings: where prompts live and how voicemail, forward and caller data are reached. */
export interface FreeSwitchSettings {
  /** Folder holding callguard-*.wav, as FreeSWITCH sees it. */
  readonly promptDir: string;
  /** Dial string for forward; `{number}` is the E.164 target. */
  readonly forwardDialString: string;
  /** Application and argument for voicemail; `{box}` is the mailbox (the number called when the rule names none). */
  readonly voicemailApp: string;
  readonly voicemailArg: string;
  /** Channel variable carrying the carrier name, when the operator sets one. */
  readonly carrierVariable: string | null;
  /**
   * Channel variables tried in turn for STIR/SHAKEN, the first stating a level winning: an
   * attestation level or verstat value, or a whole header with `;verstat=`. The defaults:
   * FreeSWITCH's own verification (`sofia_stir_shaken_vs`: sip_verstat_detailed names the
   * level, sip_verstat says Passed only for A), P-Asserted-Identity (whole only with the
   * profile's `p-asserted-id-parse` set to `verbatim`), then the whole From header.
   */
  readonly attestationVariables: readonly string[];
  /** What each attestation word means (config `attestation.words` with the built-in ones); the built-in ones when absent. */
  readonly attestationWords?: AttestationWords | undefined;
}

export const DEFAULT_FREESWITCH: FreeSwitchSettings = {
  promptDir: '/usr/share/freeswitch/sounds/callguard',
  forwardDialString: 'sofia/gateway/default/{number}',
  voicemailApp: 'voicemail',
  voicemailArg: 'default ${domain_name} {box}',
  carrierVariable: null,
  // Carrier headers: mod_sofia keeps every X- and P- header of the INVITE as sip_h_<name>.
  attestationVariables: [
    'sip_verstat_detailed',
    'sip_verstat',
    'sip_h_P-Attestation-Indicator',
    'sip_h_X-Attestation-Info',
    'sip_P-Asserted-Identity',
    'sip_full_from',
  ],
};

export interface AsteriskSettings {
  /** Media URI prefix of the prompts: `sound:callguard/` finds /var/lib/asterisk/sounds/callguard/callguard-*.wav. */
  readonly soundPrefix: string;
  /** Endpoint for forward; `{number}` is the E.164 target. */
  readonly forwardEndpoint: string;
  /** Where voicemail goes: context and extension (`{box}` is the mailbox, else the number called). */
  readonly voicemailContext: string;
  readonly voicemailExtension: string;
  /**
   * Channel variables for source IP, SIP From, carrier and attestation, read from every
   * channel snapshot: ari.conf's `channelvars` must list them. The defaults are plain
   * variables the shipped dialplan sets on PJSIP calls only (from CHANNEL(pjsip,remote_addr),
   * PJSIP_HEADER(read,From) and PJSIP_HEADER(read,P-Asserted-Identity)); a function name
   * works too, but Asterisk then logs an ERROR for it on every channel that is not PJSIP.
   */
  readonly sourceIpVariable: string | null;
  readonly sipFromVariable: string | null;
  readonly carrierVariable: string | null;
  readonly attestationVariable: string | null;
  /**
   * Channel variables holding a carrier's attestation header or Asterisk's own STIR_SHAKEN()
   * result, tried in turn before attestationVariable (P-Asserted-Identity) and the SIP From
   * header: the first stating a level wins. The defaults are what the shipped dialplan sets.
   */
  readonly attestationVariables: readonly string[];
  /** What each attestation word means (config `attestation.words` with the built-in ones); the built-in ones when absent. */
  readonly attestationWords?: AttestationWords | undefined;
}

export const DEFAULT_ASTERISK: AsteriskSettings = {
  soundPrefix: 'sound:callguard/',
  forwardEndpoint: 'PJSIP/{number}@trunk',
  voicemailContext: 'callguard-voicemail',
  voicemailExtension: '{box}',
  sourceIpVariable: 'CALLGUARD_SOURCE_IP',
  sipFromVariable: 'CALLGUARD_SIP_FROM',
  carrierVariable: null,
  attestationVariable: 'CALLGUARD_PAI',
  attestationVariables: ['CALLGUARD_STIR_SHAKEN', 'CALLGUARD_P_ATTESTATION', 'CALLGUARD_X_ATTESTATION'],
};
