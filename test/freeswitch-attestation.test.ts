// STIR/SHAKEN on FreeSWITCH (issue 11): where the attestation is on the channel, and what
// callguard says when a stock sofia profile hides it. Channel data as FreeSWITCH 1.10.12 sets
// it (mod_sofia sofia.c: sip_P-Asserted-Identity after `p-asserted-id-parse`, sip_full_from;
// mod_sofia.c sofia_stir_shaken_vs: sip_verstat and sip_verstat_detailed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configErrors } from '../agent/config/check';
import { parseAttestation } from '../agent/engine/attestation';
import { decide } from '../agent/engine/decide';
import type { AttestationFact, CallFacts } from '../agent/engine/types';
import { PAI_NOT_VISIBLE, attestationFromChannel, factsFromChannel } from '../agent/pbx/freeswitch/channel-facts';
import { FreeSwitchInboundClient } from '../agent/pbx/freeswitch/inbound-client';
import { FreeSwitchOutboundServer } from '../agent/pbx/freeswitch/outbound-server';
import { DEFAULT_FREESWITCH } from '../agent/pbx/settings';
import type { FreeSwitchSettings } from '../agent/pbx/settings';
import { CategoryStore } from '../agent/store/categories';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { ProtectionStore } from '../agent/store/protection';
import { eventually, screeningWorld } from './helpers/screening';
import type { ScreeningWorld } from './helpers/screening';
import { FreeSwitchSim } from './sim/freeswitch';
import type { CallResult, CallSpec } from './sim/freeswitch';

const NOT_VISIBLE = 'attestation not visible: set p-asserted-id-parse to verbatim on the SIP profile (README: STIR/SHAKEN on FreeSWITCH)';
const CALLER = '+14045550103';
const DID = '15551230000';

/** What mod_sofia sets for a call from the carrier at 198.51.100.20, whatever the profile. */
const SIP_CALL = {
  sip_from_user: CALLER,
  sip_from_host: 'good.example',
  sip_from_uri: `${CALLER}@good.example`,
  sip_full_from: `<sip:${CALLER}@good.example>;tag=abc`,
  sip_network_ip: '198.51.100.20',
  sip_received_ip: '198.51.100.20',
};
/** The carrier's P-Asserted-Identity, and what each `p-asserted-id-parse` makes of it. */
const PAI_FAILED = `<sip:${CALLER}@good.example;verstat=TN-Validation-Failed>`;
const STOCK = { ...SIP_CALL, sip_cid_type: 'pid', 'sip_P-Asserted-Identity': CALLER };
const USER_DOMAIN = { ...SIP_CALL, sip_cid_type: 'pid', 'sip_P-Asserted-Identity': `${CALLER}@good.example` };
const VERBATIM = { ...SIP_CALL, sip_cid_type: 'pid', 'sip_P-Asserted-Identity': PAI_FAILED };

describe('parsing attestation', () => {
  it.each([
    ['TN-Validation-Passed-A', 'A'],
    ['TN-Validation-Passed-B', 'B'],
    ['TN-Validation-Passed', 'B'],
    ['TN-Validation-Failed', 'failed'],
    ['TN-Validation-Failed-A', 'failed'],
    ['TN-Validation-Failed-C', 'failed'],
    ['No-TN-Validation', 'none'],
    [PAI_FAILED, 'failed'],
    [`<tel:${CALLER};verstat=TN-Validation-Passed-C>`, 'C'],
    [`${CALLER};verstat=TN-Validation-Passed-A`, 'A'],
    [`"Bob" <sip:${CALLER}@good.example;verstat=TN-Validation-Passed-A>;tag=abc`, 'A'],
    [`<sip:${CALLER}@good.example;user=phone;VERSTAT=tn-validation-passed-b>`, 'B'],
    [`<sip:${CALLER}@good.example>;tag=abc`, 'none'],
    // A display name is the caller's own text: a verstat in it is never read.
    [`"x;verstat=TN-Validation-Passed-A" <sip:${CALLER}@good.example>;tag=abc`, 'none'],
    [`"x\\";verstat=TN-Validation-Passed-A" <sip:${CALLER}@good.example;verstat=TN-Validation-Failed>`, 'failed'],
    [`"unclosed;verstat=TN-Validation-Passed-A <sip:${CALLER}@good.example>`, 'none'],
    [CALLER, 'none'],
  ] as const)('%j → %s', (value, expected) => {
    expect(parseAttestation(value)).toBe(expected);
  });
});

describe('attestation from the channel variables', () => {
  const NAMES = DEFAULT_FREESWITCH.attestationVariables;
  const from = (variables: Record<string, string>, names: readonly string[] = NAMES): AttestationFact =>
    attestationFromChannel((name) => variables[name], names);

  it('reads FreeSWITCH verification, then the carrier headers, then P-Asserted-Identity, then From, by default', () => {
    expect(NAMES).toEqual(['sip_verstat_detailed', 'sip_verstat', 'sip_h_P-Attestation-Indicator', 'sip_h_X-Attestation-Info', 'sip_P-Asserted-Identity', 'sip_full_from']);
  });

  it('a stock profile (user part) or user-domain hides the attestation; verbatim shows it', () => {
    expect(from(STOCK)).toEqual(PAI_NOT_VISIBLE);
    expect(from(USER_DOMAIN)).toEqual(PAI_NOT_VISIBLE);
    expect(from({ 'sip_P-Asserted-Identity': 'anonymous@[2001:db8::1]' })).toEqual(PAI_NOT_VISIBLE);
    expect(from(VERBATIM)).toBe('failed');
    expect(from({ ...SIP_CALL, 'sip_P-Asserted-Identity': `<sip:${CALLER}@good.example>` })).toBe('none');
  });

  it('no P-Asserted-Identity at all: nothing was hidden, the call carried none', () => {
    expect(from(SIP_CALL)).toBe('none');
    expect(from({})).toBe('none');
  });

  it("FreeSWITCH's own verification: the detailed value names the level, sip_verstat says Passed for A only", () => {
    expect(from({ ...STOCK, sip_verstat: 'TN-Validation-Passed', sip_verstat_detailed: 'TN-Validation-Passed-A' })).toBe('A');
    expect(from({ ...STOCK, sip_verstat: 'No-TN-Validation', sip_verstat_detailed: 'TN-Validation-Passed-B' })).toBe('B');
    expect(from({ ...STOCK, sip_verstat: 'TN-Validation-Failed', sip_verstat_detailed: 'TN-Validation-Failed-A' })).toBe('failed');
    expect(from({ ...STOCK, sip_verstat: 'TN-Validation-Failed' }, ['sip_verstat'])).toBe('failed');
    // No Identity header: the verifier says so, and P-Asserted-Identity is still looked at.
    expect(from({ ...VERBATIM, sip_verstat: 'No-TN-Validation', sip_verstat_detailed: 'No-TN-Validation' })).toBe('failed');
    expect(from({ ...STOCK, sip_verstat: 'No-TN-Validation', sip_verstat_detailed: 'No-TN-Validation' })).toEqual(PAI_NOT_VISIBLE);
  });

  it('verstat in the From header counts, even when P-Asserted-Identity came stripped', () => {
    const full = `"Bob" <sip:${CALLER}@good.example;verstat=TN-Validation-Passed-A>;tag=abc`;
    expect(from({ ...SIP_CALL, sip_full_from: full })).toBe('A');
    expect(from({ ...STOCK, sip_full_from: full })).toBe('A');
  });

  it('the first variable that states a level wins', () => {
    expect(from({ ...VERBATIM, sip_full_from: `<sip:${CALLER}@good.example;verstat=TN-Validation-Passed-A>;tag=abc` })).toBe('failed');
    expect(from({ sip_verstat_detailed: 'TN-Validation-Passed-A', 'sip_P-Asserted-Identity': PAI_FAILED })).toBe('A');
  });

  it('a configured variable is read; P-Asserted-Identity is looked at only when listed', () => {
    const names = ['sip_h_P-Attestation-Indicator', ...NAMES];
    expect(from({ ...STOCK, 'sip_h_P-Attestation-Indicator': 'C' }, names)).toBe('C');
    expect(from({ ...STOCK, 'sip_h_P-Attestation-Indicator': 'C' }, ['sip_h_P-Attestation-Indicator'])).toBe('C');
    expect(from(STOCK, ['sip_h_P-Attestation-Indicator'])).toBe('none');
    expect(configErrors({ freeswitch: { attestationVariables: names } })).toEqual([]);
  });

  it('factsFromChannel carries it to the engine', () => {
    const header = (variables: Record<string, string>) => (name: string) => (name.startsWith('variable_') ? variables[name.slice('variable_'.length)] : undefined);
    expect(factsFromChannel(header(STOCK), DEFAULT_FREESWITCH).attestation).toEqual(PAI_NOT_VISIBLE);
    expect(factsFromChannel(header(VERBATIM), DEFAULT_FREESWITCH).attestation).toBe('failed');
  });
});

describe('the engine with an attestation it could not see', () => {
  let dir: string;
  let db: Database;
  const NOW = Date.parse('2026-11-21T12:00:00Z');
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'callguard-attestation-'));
    db = openDatabase(join(dir, 'a.db'));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const call = (attestation: AttestationFact | undefined, extra: Partial<CallFacts> = {}) =>
    decide({ kind: 'call', from: CALLER, to: DID, attestation, ...extra }, new SqliteDecisionStore(db), { country: 'US', now: NOW });

  it('is never unverified, and explain says why it is unknown and how to see it', () => {
    new CategoryStore(db).set('global', 'unverified', 'block');
    const decision = call(PAI_NOT_VISIBLE);
    expect(decision).toMatchObject({ action: 'allow', category: null, categories: [] });
    expect(decision.reasons).toContain(`Step 2: ${NOT_VISIBLE}; the unverified category cannot apply.`);
    expect(call('failed')).toMatchObject({ action: 'block', category: 'unverified' });
    expect(call('none').reasons.join('\n')).not.toContain('not visible');
  });

  it('is said even when no category policy could act on it', () => {
    expect(call(PAI_NOT_VISIBLE).reasons).toContain(`Step 2: ${NOT_VISIBLE}; the unverified category cannot apply.`);
  });

  it('scores as a missing attestation, with its own reason', () => {
    new ProtectionStore(db).set({ scope: 'global', enabled: true, threshold: 100, flagThreshold: null, action: 'block' });
    const hidden = call(PAI_NOT_VISIBLE);
    const none = call('none');
    expect(hidden.score).toBe(none.score);
    expect(hidden.signals.find((signal) => signal.signal === 'attestation')).toEqual({
      signal: 'attestation',
      points: none.signals.find((signal) => signal.signal === 'attestation')!.points,
      why: `${NOT_VISIBLE}; scored as no attestation`,
    });
  });

  it('texts are not told about it (categories apply to calls only)', () => {
    expect(call(PAI_NOT_VISIBLE, { kind: 'sms' }).reasons.join('\n')).not.toContain('not visible');
  });
});

describe('on the FreeSWITCH simulator, through modesl', () => {
  const SETTINGS: FreeSwitchSettings = {
    ...DEFAULT_FREESWITCH,
    promptDir: '/opt/callguard/prompts',
    attestationVariables: ['sip_h_P-Attestation-Indicator', ...DEFAULT_FREESWITCH.attestationVariables],
  };
  let world: ScreeningWorld;
  let sim: FreeSwitchSim;
  let simPort: number;

  beforeEach(async () => {
    world = screeningWorld();
    sim = new FreeSwitchSim({ password: 'ClueCon' });
    simPort = await sim.start();
    new CategoryStore(world.db).set('global', 'unverified', 'block');
    // Scored but never stopped by the score: step 3 shows what attestation the agent saw.
    new ProtectionStore(world.db).set({ scope: 'global', enabled: true, threshold: 100, flagThreshold: null, action: 'block' });
  });
  afterEach(async () => {
    await sim.close();
    world.close();
  });

  const deps = () => ({ screener: world.screener, logger: world.logger, settings: SETTINGS });
  const apps = (result: CallResult) => result.apps.map((app) => `${app.app} ${app.arg}`.trim());
  /** The reasons the call log holds for the one call. */
  const logged = async (): Promise<string[]> => {
    await eventually(() => world.calls().length === 1 && world.calls()[0]!.outcome !== null, undefined, 'the call logged with its outcome');
    const row = world.db.prepare('SELECT reasons FROM calls').get() as { reasons: string };
    return JSON.parse(row.reasons) as string[];
  };
  const blocked = (result: CallResult) => {
    expect(apps(result)).toEqual(['pre_answer', 'playback /opt/callguard/prompts/callguard-not-accepted.wav', 'hangup CALL_REJECTED']);
    expect(result).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED', hangupCauseCode: 21 });
  };

  describe('outbound mode', () => {
    let server: FreeSwitchOutboundServer;
    beforeEach(async () => {
      server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, deps());
      await server.start();
    });
    afterEach(async () => {
      await server.stop(200);
    });
    const place = (variables: Record<string, string>) =>
      sim.placeOutboundCall('127.0.0.1', server.port, { callerIdNumber: CALLER, callerIdName: 'Bob', destinationNumber: DID, variables }).done;

    it('stock profile (P-Asserted-Identity = user part): not visible, explain says so, unverified-block does not block', async () => {
      const result = await place(STOCK);
      expect(result.outcome).toBe('continued');
      expect(result.apps).toEqual([]);
      const reasons = await logged();
      expect(reasons).toContain(`Step 2: ${NOT_VISIBLE}; the unverified category cannot apply.`);
      expect(reasons).toContain('Step 2: no caller category with a policy other than allow applies.');
      expect(reasons.some((reason) => reason.startsWith('Step 3: ') && reason.includes(`${NOT_VISIBLE}; scored as no attestation`))).toBe(true);
      expect(world.calls()).toMatchObject([{ action: 'allow', outcome: 'continued', caller: CALLER }]);
    });

    it('user-domain profile (user@host): not visible either', async () => {
      expect((await place(USER_DOMAIN)).outcome).toBe('continued');
      expect(await logged()).toContain(`Step 2: ${NOT_VISIBLE}; the unverified category cannot apply.`);
    });

    it('p-asserted-id-parse verbatim: the whole header, blocked as unverified, cleared CALL_REJECTED', async () => {
      blocked(await place(VERBATIM));
      const reasons = await logged();
      expect(reasons).toContain('Step 2: caller is unverified (attestation failed); policy (global) says block.');
      expect(reasons.join('\n')).not.toContain('not visible');
      expect(world.calls()).toMatchObject([{ action: 'block', outcome: 'rejected', outcome_detail: 'CALL_REJECTED' }]);
    });

    it("FreeSWITCH's own verification passed (A): through, scored as full attestation", async () => {
      const result = await place({ ...STOCK, sip_verstat: 'TN-Validation-Passed', sip_verstat_detailed: 'TN-Validation-Passed-A' });
      expect(result.outcome).toBe('continued');
      const reasons = await logged();
      expect(reasons.some((reason) => reason.startsWith('Step 3: ') && reason.includes('full attestation (A)'))).toBe(true);
      expect(reasons.join('\n')).not.toContain('not visible');
    });

    it("FreeSWITCH's own verification failed: blocked as unverified", async () => {
      blocked(await place({ ...STOCK, sip_verstat: 'TN-Validation-Failed', sip_verstat_detailed: 'TN-Validation-Failed-A' }));
      expect(await logged()).toContain('Step 2: caller is unverified (attestation failed); policy (global) says block.');
    });

    it("FreeSWITCH's own verification, B: sip_verstat says No-TN-Validation, the detailed value B", async () => {
      expect((await place({ ...STOCK, sip_verstat: 'No-TN-Validation', sip_verstat_detailed: 'TN-Validation-Passed-B' })).outcome).toBe('continued');
      expect((await logged()).some((reason) => reason.includes('partial attestation (B)'))).toBe(true);
    });

    it('verstat in the From header (sip_full_from): read, the display name not', async () => {
      const from = `"verstat=TN-Validation-Passed-A" <sip:${CALLER}@good.example;verstat=TN-Validation-Failed>;tag=abc`;
      blocked(await place({ ...SIP_CALL, sip_full_from: from }));
      expect(await logged()).toContain('Step 2: caller is unverified (attestation failed); policy (global) says block.');
    });

    it('verstat in the From header beside a stock P-Asserted-Identity: seen, so not "not visible"', async () => {
      const result = await place({ ...STOCK, sip_full_from: `"Bob" <sip:${CALLER}@good.example;verstat=TN-Validation-Passed-A>;tag=abc` });
      expect(result.outcome).toBe('continued');
      const reasons = await logged();
      expect(reasons.some((reason) => reason.includes('full attestation (A)'))).toBe(true);
      expect(reasons.join('\n')).not.toContain('not visible');
    });

    it('a configured variable (an X-/P- header mod_sofia keeps as sip_h_*)', async () => {
      blocked(await place({ ...STOCK, 'sip_h_P-Attestation-Indicator': 'C' }));
      expect(await logged()).toContain('Step 2: caller is unverified (attestation C); policy (global) says block.');
    });
  });

  describe('inbound mode', () => {
    let client: FreeSwitchInboundClient;
    beforeEach(async () => {
      client = new FreeSwitchInboundClient({ host: '127.0.0.1', port: simPort, password: 'ClueCon' }, deps());
      await client.start();
    });
    afterEach(async () => {
      await client.stop(200);
    });
    const park = (variables: Record<string, string>, spec: CallSpec = {}) =>
      sim.parkCall({ callerIdNumber: CALLER, destinationNumber: DID, context: 'public', dialplanSet: { callguard_screen: 'true' }, variables, ...spec }).done;

    it('stock profile: transferred back (allowed), explain says attestation is not visible', async () => {
      const result = await park(STOCK);
      expect(result.outcome).toBe('transferred');
      expect(await logged()).toContain(`Step 2: ${NOT_VISIBLE}; the unverified category cannot apply.`);
    });

    it('verbatim: blocked as unverified, CALL_REJECTED', async () => {
      blocked(await park(VERBATIM));
      expect(await logged()).toContain('Step 2: caller is unverified (attestation failed); policy (global) says block.');
    });
  });
});
