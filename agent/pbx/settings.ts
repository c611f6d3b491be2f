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
  /** Channel variables tried in turn for STIR/SHAKEN: an attestation level, or a header with `verstat`. */
  readonly attestationVariables: readonly string[];
}

export const DEFAULT_FREESWITCH: FreeSwitchSettings = {
  promptDir: '/usr/share/freeswitch/sounds/callguard',
  forwardDialString: 'sofia/gateway/default/{number}',
  voicemailApp: 'voicemail',
  voicemailArg: 'default ${domain_name} {box}',
  carrierVariable: null,
  attestationVariables: ['sip_verstat', 'sip_P-Asserted-Identity'],
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
   * channel snapshot: ari.conf's `channelvars` must list them.
   */
  readonly sourceIpVariable: string | null;
  readonly sipFromVariable: string | null;
  readonly carrierVariable: string | null;
  readonly attestationVariable: string | null;
}

export const DEFAULT_ASTERISK: AsteriskSettings = {
  soundPrefix: 'sound:callguard/',
  forwardEndpoint: 'PJSIP/{number}@trunk',
  voicemailContext: 'callguard-voicemail',
  voicemailExtension: '{box}',
  sourceIpVariable: 'CHANNEL(pjsip,remote_addr)',
  sipFromVariable: 'PJSIP_HEADER(read,From)',
  carrierVariable: null,
  attestationVariable: 'PJSIP_HEADER(read,P-Asserted-Identity)',
};
