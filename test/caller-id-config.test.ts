// Issue 16, items 5 and 6: attestation the way carriers send it (verstat in P-Asserted-Identity
// or From, a carrier's own header and words, Asterisk's own STIR_SHAKEN() result) and
// anonymous callers as the world spells them (WITHHELD, INTERNATIONAL, all zeros, a number a
// carrier uses for withheld callers), both configuration: parsed, refused when bad, and read
// on the FreeSWITCH and Asterisk simulators by the real drivers.
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ACTION_SETTINGS } from '../agent/actions/settings';
import { callerIdSettings } from '../agent/config/caller-ids';
import { configErrors } from '../agent/config/check';
import { loadConfig } from '../agent/config/load';
import { CONFIG_DEFAULTS } from '../agent/config/schema';
import { DEFAULT_ATTESTATION_WORDS, attestationWords, parseAttestation } from '../agent/engine/attestation';
import { BadInput } from '../agent/engine/bad-input';
import { decide } from '../agent/engine/decide';
import { DEFAULT_ANONYMOUS, anonymousCallerIds, normalizeNumber } from '../agent/engine/numbers';
import { parsePattern } from '../agent/engine/patterns';
import type { CallFacts, RuleAction } from '../agent/engine/types';
import { createAsteriskDriver, type AsteriskDriver } from '../agent/pbx/asterisk/asterisk-driver';
import { asteriskVerification, channelFacts } from '../agent/pbx/asterisk/channel-facts';
import { factsFromChannel } from '../agent/pbx/freeswitch/channel-facts';
import { FreeSwitchOutboundServer } from '../agent/pbx/freeswitch/outbound-server';
import { DEFAULT_ASTERISK, DEFAULT_FREESWITCH, type AsteriskSettings, type FreeSwitchSettings } from '../agent/pbx/settings';
import { Screener } from '../agent/screening/screener';
import { CallLog } from '../agent/store/call-log';
import { CategoryStore } from '../agent/store/categories';
import { openDatabase } from '../agent/store/database';
import { SqliteDecisionStore } from '../agent/store/decision-view';
import { RuleStore } from '../agent/store/rules';
import { PATIENCE_MS } from './helpers/patience';
import { assertBuilt, describeRun, runCli } from './helpers/run-cli';
import { makeTempDir, type TempDir } from './helpers/temp-db';
import { FreeSwitchSim } from './sim/freeswitch';
import {
  confValue,
  dialplanFromConf,
  parseAsteriskConf,
  parseChannelvars,
  startAsteriskSim,
  type AsteriskSim,
  type PlaceCallOptions,
  type StirShakenResult,
} from './sim/asterisk';

const CALLER = '+14045550103';
const DID = '+18005550100';
/** A number the operator's carrier sends for withheld callers ("RESTRICTED" on a keypad). */
const WITHHELD_NUMBER = '737-874-2833';
const WITHHELD_E164 = '+17378742833';

describe('attestation words', () => {
  it.each([
    // verstat on sip: and tel: URIs, in P-Asserted-Identity or From, anonymous ones included
    [`<sip:${CALLER}@carrier.example;user=phone;verstat=TN-Validation-Passed-A>`, 'A'],
    [`<tel:${CALLER};verstat=TN-Validation-Passed-B>`, 'B'],
    [`tel:${CALLER};verstat=TN-Validation-Failed`, 'failed'],
    ['<sip:anonymous@anonymous.invalid;verstat=TN-Validation-Passed-C>', 'C'],
    ['"Anonymous" <sip:anonymous@anonymous.invalid;verstat=No-TN-Validation>;tag=1', 'none'],
    ['<tel:anonymous;verstat=TN-Validation-Failed-B>', 'failed'],
    ['"Restricted" <sip:restricted@carrier.example;verstat=TN-Validation-Passed-A>;tag=9', 'A'],
    // a carrier's header, whole: each word of the built-in mapping
    ['TN-Validation-Passed', 'B'],
    ['TN-Validation-Passed-A', 'A'],
    ['tn-validation-passed-b', 'B'],
    ['TN-Validation-Passed-C', 'C'],
    ['No-TN-Validation', 'none'],
    ['TN-Validation-Failed', 'failed'],
    ['TN-Validation-Failed-A', 'failed'],
    ['A', 'A'],
    [' c ', 'C'],
    ['Failed', 'failed'],
    ['D', 'none'],
    ['TN-Validation-Passed-D', 'none'],
  ] as const)('%j → %s', (value, expected) => {
    expect(parseAttestation(value)).toBe(expected);
  });

  it('header text past 2048 characters is not looked at', () => {
    expect(parseAttestation(`${' '.repeat(2047)}A`)).toBe('A');
    expect(parseAttestation(`${' '.repeat(5000)}A`)).toBe('none');
  });

  it('a configured word is added to the built-in ones, and may change what a built-in one means', () => {
    const words = attestationWords({ 'Full-Attestation': 'A', Gateway: 'C', Spoofed: 'failed', 'TN-Validation-Passed': 'C' });
    expect(parseAttestation('full-attestation', words)).toBe('A');
    expect(parseAttestation('GATEWAY', words)).toBe('C');
    expect(parseAttestation(`<sip:${CALLER}@carrier.example;verstat=Spoofed>`, words)).toBe('failed');
    expect(parseAttestation('TN-Validation-Passed', words)).toBe('C');
    expect(parseAttestation('TN-Validation-Passed-A', words)).toBe('A');
    // Not configured: the built-in words alone.
    expect(parseAttestation('Gateway')).toBe('none');
  });

  it("Asterisk's own verification, as the shipped dialplan puts it", () => {
    expect(asteriskVerification('verify_result=success,attestation=A')).toBe('A');
    expect(asteriskVerification('verify_result=Verification passed,attestation=C')).toBe('C');
    expect(asteriskVerification('verify_result=signature_validation,attestation=A')).toBe('failed');
    expect(asteriskVerification('verify_result=cert_not_trusted,attestation=')).toBe('failed');
    expect(asteriskVerification('verify_result=Signature failed,attestation=B')).toBe('failed');
    expect(asteriskVerification('verify_result=missing_identity_hdr,attestation=')).toBe('none');
    expect(asteriskVerification('verify_result=,attestation=')).toBe('none');
    expect(asteriskVerification('TN-Validation-Passed-A')).toBeUndefined();
  });
});

describe('the attestation settings in the config', () => {
  it('take a mapping of words, and refuse an unknown attestation word in it with one clear message', () => {
    expect(configErrors({ attestation: { words: { 'TN-Verified': 'A', Unchecked: 'none', Bad: 'failed' } } })).toEqual([]);
    expect(configErrors({ attestation: { words: { 'TN-Verified': 'D' } } })).toEqual([
      'attestation.words: "TN-Verified" means "D", an unknown attestation: expected one of "A", "B", "C", "failed", "none", got {"TN-Verified":"D"}',
    ]);
    expect(configErrors({ attestation: { words: { 'two words': 'A' } } })[0]).toMatch(/^attestation\.words: "two words" is not a word/);
    expect(configErrors({ attestation: { words: ['A'] } })[0]).toMatch(/^attestation\.words: expected an object/);
    expect(configErrors({ attestation: { headers: [] } })).toEqual(['attestation.headers: not a setting']);
    expect(configErrors({ asterisk: { attestationVariables: ['CALLGUARD_X', 'bad name!'] } })[0]).toMatch(/^asterisk\.attestationVariables: expected a list of channel variable names/);
  });

  it('loading a config file with an unknown attestation word fails with one line (BadInput)', () => {
    const dir = makeTempDir('callguard-attestation-config-');
    try {
      const file = dir.file('callguard.json');
      fs.writeFileSync(file, JSON.stringify({ attestation: { words: { 'TN-Verified': 'AA' } } }));
      let error: unknown;
      try {
        loadConfig(file, {}, {});
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(BadInput);
      expect((error as Error).message).toMatch(/^config .*callguard\.json: attestation\.words: "TN-Verified" means "AA", an unknown attestation/);
      expect((error as Error).message).not.toContain('\n');
    } finally {
      dir.remove();
    }
  });

  it('defaults: the built-in words, and the carrier headers on both switches', () => {
    expect(CONFIG_DEFAULTS.attestation).toEqual({ words: {} });
    expect(Object.keys(DEFAULT_ATTESTATION_WORDS)).toEqual(expect.arrayContaining(['TN-Validation-Passed-A', 'No-TN-Validation', 'TN-Validation-Failed']));
    expect(DEFAULT_FREESWITCH.attestationVariables).toEqual(expect.arrayContaining(['sip_h_P-Attestation-Indicator', 'sip_h_X-Attestation-Info']));
    expect(DEFAULT_ASTERISK.attestationVariables).toEqual(['CALLGUARD_STIR_SHAKEN', 'CALLGUARD_P_ATTESTATION', 'CALLGUARD_X_ATTESTATION']);
  });
});

describe('anonymous callers', () => {
  it.each(['WITHHELD', 'withheld', 'Withheld Number', 'INTERNATIONAL', 'International', 'OUT OF AREA', 'out-of-area', 'Unavailable', 'caller id blocked', 'PRIVATE_NUMBER'])(
    '%j is anonymous by default',
    (text) => {
      expect(normalizeNumber(text, 'US').kind).toBe('anonymous');
      expect(normalizeNumber(`sip:${text.replace(/ /g, '_')}@carrier.example`, 'US').kind).toBe('anonymous');
    },
  );

  it.each(['0', '00', '000', '0000000', '000000000000000', '+0', '+000', '+1 000', '+1 000 000 0000', '+44 0000', '+44 00 0000 0000', '+353 000', '0044 0000', 'tel:+10000000'])(
    'all zeros, of any length: %j',
    (text) => {
      expect(normalizeNumber(text, 'US').kind).toBe('anonymous');
      expect(normalizeNumber(text, 'GB').kind).toBe('anonymous');
    },
  );

  it('a real number is not', () => {
    expect(normalizeNumber('+1 404 555 0103', 'US')).toEqual({ kind: 'number', e164: CALLER });
    expect(normalizeNumber('+44 20 7946 0000', 'US')).toEqual({ kind: 'number', e164: '+442079460000' });
    expect(normalizeNumber('+1000123', 'US').kind).not.toBe('anonymous');
  });

  it('a configured withheld number is anonymous in every form; the cache keeps the settings apart', () => {
    const withheld = anonymousCallerIds({ ...DEFAULT_ANONYMOUS, numbers: [WITHHELD_NUMBER] }, 'US');
    for (const form of ['7378742833', '+17378742833', '1 (737) 874-2833', `sip:${WITHHELD_E164}@carrier.example`, `<tel:${WITHHELD_E164}>`]) {
      // Asked both ways, in both orders: neither answer is the other's cached one.
      expect(normalizeNumber(form, 'US').kind, form).toBe('number');
      expect(normalizeNumber(form, 'US', withheld), form).toMatchObject({ kind: 'anonymous', why: expect.stringContaining('withheld (anonymous.numbers)') });
      expect(normalizeNumber(form, 'US').kind, form).toBe('number');
    }
    // The same settings are made once.
    expect(anonymousCallerIds({ ...DEFAULT_ANONYMOUS, numbers: [WITHHELD_NUMBER] }, 'US')).toBe(withheld);
  });

  it('the words are the configured list: one added, one taken away', () => {
    const custom = anonymousCallerIds({ words: ['anonymous', 'Nicht Verfügbar'.replace('ü', 'u'), 'P'], numbers: [] }, 'US');
    expect(normalizeNumber('Nicht Verfugbar', 'US', custom).kind).toBe('anonymous');
    expect(normalizeNumber('p', 'US', custom).kind).toBe('anonymous');
    expect(normalizeNumber('WITHHELD', 'US', custom).kind).toBe('invalid');
    expect(normalizeNumber('WITHHELD', 'US').kind).toBe('anonymous');
  });

  it('decide uses the settings it is handed', () => {
    const dir = makeTempDir('callguard-anonymous-');
    const db = openDatabase(dir.file('a.db'));
    try {
      const store = new SqliteDecisionStore(db);
      new RuleStore(db).add([{ ...parsePattern('anonymous', 'US'), scope: 'global', action: 'busy', target: null, sms: false, note: null, list: null, expiresAt: null }]);
      const facts: CallFacts = { kind: 'call', from: WITHHELD_NUMBER, to: DID };
      const anonymous = callerIdSettings({ anonymous: { numbers: [WITHHELD_NUMBER] } }, 'US').anonymous;
      expect(decide(facts, store, { country: 'US', now: Date.now() })).toMatchObject({ action: 'allow', callerKind: 'number' });
      expect(decide(facts, store, { country: 'US', now: Date.now(), anonymous })).toMatchObject({ action: 'busy', callerKind: 'anonymous' });
    } finally {
      db.close();
      dir.remove();
    }
  });

  it('the config: words and numbers checked, one clear message each', () => {
    expect(CONFIG_DEFAULTS.anonymous.words).toEqual(expect.arrayContaining(['withheld', 'international']));
    expect(configErrors({ anonymous: { numbers: ['+1 737 874 2833', '0800 000 000'], words: ['withheld', 'no caller id'] } })).toEqual([]);
    expect(configErrors({ anonymous: { numbers: ['737-874-2833x'] } })).toEqual([
      'anonymous.numbers: "737-874-2833x" is not a number (digits and separators, up to 24), got ["737-874-2833x"]',
    ]);
    expect(configErrors({ anonymous: { words: ['ok', '(.*)'] } })[0]).toMatch(/^anonymous\.words: "\(\.\*\)" is not a word/);
    expect(configErrors({ anonymous: { words: 'withheld' } })[0]).toMatch(/^anonymous\.words: expected a list/);
  });
});

/** A screener deciding with the settings `serve` makes from this config, and what it was asked. */
function screenerWorld(dir: TempDir, sections: Parameters<typeof callerIdSettings>[0]) {
  const db = openDatabase(dir.file('callguard.db'));
  const rules = new RuleStore(db);
  const rule = (pattern: string, action: RuleAction) =>
    rules.add([{ ...parsePattern(pattern, 'US'), scope: 'global', action, target: null, sms: false, note: null, list: null, expiresAt: null }]);
  rule('anonymous', 'busy');
  new CategoryStore(db).set('global', 'unverified', 'block');
  const callLog = new CallLog(db, { flushMs: 5 });
  const logger = pino({ level: 'silent' });
  const callerIds = callerIdSettings(sections, 'US');
  const seen: CallFacts[] = [];
  const screener = new (class extends Screener {
    override async decide(facts: CallFacts, pbx: string | null = null) {
      seen.push(facts);
      return super.decide(facts, pbx);
    }
  })(new SqliteDecisionStore(db), callLog, { country: 'US', anonymous: callerIds.anonymous, failMode: 'open', actions: DEFAULT_ACTION_SETTINGS }, logger);
  return { db, callLog, logger, screener, seen, callerIds };
}

const SECTIONS = { anonymous: { numbers: [WITHHELD_NUMBER] }, attestation: { words: { 'Full-Attestation': 'A', Spoofed: 'failed' } } };

describe('on the FreeSWITCH simulator, through modesl', () => {
  let dir: TempDir;
  let sim: FreeSwitchSim;
  let server: FreeSwitchOutboundServer;
  let world: ReturnType<typeof screenerWorld>;

  beforeEach(async () => {
    dir = makeTempDir('callguard-fs-callerid-');
    world = screenerWorld(dir, SECTIONS);
    sim = new FreeSwitchSim({ password: 'ClueCon' });
    await sim.start();
    const settings: FreeSwitchSettings = { ...DEFAULT_FREESWITCH, attestationWords: world.callerIds.attestationWords };
    server = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, { screener: world.screener, logger: world.logger, settings });
    await server.start();
  });
  afterEach(async () => {
    await server.stop(200);
    await sim.close();
    world.callLog.close();
    world.db.close();
    dir.remove();
  });

  const place = (variables: Record<string, string>, callerIdNumber = CALLER) =>
    sim.placeOutboundCall('127.0.0.1', server.port, { callerIdNumber, callerIdName: 'Bob', destinationNumber: DID, variables }).done;

  it.each<[string, Record<string, string>, string, string]>([
    ['X-Attestation-Info (mod_sofia keeps it as sip_h_X-Attestation-Info)', { 'sip_h_X-Attestation-Info': 'TN-Validation-Failed' }, 'failed', 'CALL_REJECTED'],
    ['P-Attestation-Indicator (sip_h_P-Attestation-Indicator)', { 'sip_h_P-Attestation-Indicator': 'C' }, 'C', 'CALL_REJECTED'],
    ['a configured carrier word', { 'sip_h_X-Attestation-Info': 'Spoofed' }, 'failed', 'CALL_REJECTED'],
    ['a configured carrier word for A', { 'sip_h_P-Attestation-Indicator': 'full-attestation' }, 'A', ''],
    ['verstat on an anonymous From', { sip_full_from: '"Anonymous" <sip:anonymous@anonymous.invalid;verstat=TN-Validation-Passed-B>;tag=1' }, 'B', ''],
    ['no attestation anywhere', { sip_full_from: `<sip:${CALLER}@carrier.example>;tag=1` }, 'none', ''],
  ])('%s is read as the right attestation', async (_, variables, attestation, cause) => {
    const result = await place(variables);
    expect(world.seen.at(-1)?.attestation).toBe(attestation);
    if (cause) expect(result).toMatchObject({ outcome: 'hungup', hangupCause: cause });
    else expect(result.outcome).toBe('continued');
  });

  it('a configured withheld number is anonymous: the anonymous rule answers it busy', async () => {
    const result = await place({}, WITHHELD_NUMBER.replace(/-/g, ''));
    expect(result).toMatchObject({ outcome: 'hungup', hangupCause: 'USER_BUSY' });
    expect((await place({}, 'WITHHELD')).hangupCause).toBe('USER_BUSY');
    expect((await place({}, 'INTERNATIONAL')).hangupCause).toBe('USER_BUSY');
    expect((await place({}, '+44 0000')).hangupCause).toBe('USER_BUSY');
    expect((await place({})).outcome).toBe('continued');
  });

  it('the facts of a channel: header text of any length is only read', () => {
    const header = (variables: Record<string, string>) => (name: string) => (name.startsWith('variable_') ? variables[name.slice('variable_'.length)] : undefined);
    expect(factsFromChannel(header({ 'sip_h_X-Attestation-Info': `A${'\n'.repeat(3)}` }), DEFAULT_FREESWITCH).attestation).toBe('A');
    expect(factsFromChannel(header({ 'sip_h_X-Attestation-Info': 'A'.repeat(10_000) }), DEFAULT_FREESWITCH).attestation).toBe('none');
  });
});

describe('on the Asterisk simulator, with the shipped dialplan and ari.conf, through ari-client', () => {
  const CONF_DIR = path.resolve(__dirname, '../dialplan/asterisk');
  const readConf = (name: string) => parseAsteriskConf(fs.readFileSync(path.join(CONF_DIR, name), 'utf8'), name);
  const CHANNELVARS = parseChannelvars(confValue(readConf('ari.conf'), 'general', 'channelvars') ?? '');
  const DIALPLAN = dialplanFromConf(readConf('extensions.conf'));

  let dir: TempDir;
  let sim: AsteriskSim;
  let driver: AsteriskDriver;
  let world: ReturnType<typeof screenerWorld>;

  async function start(options: { stirShakenLoaded?: boolean; settings?: Partial<AsteriskSettings> } = {}) {
    dir = makeTempDir('callguard-ari-callerid-');
    world = screenerWorld(dir, SECTIONS);
    sim = await startAsteriskSim({ mediaDurationMs: 20, channelvars: CHANNELVARS, dialplan: DIALPLAN, stirShakenLoaded: options.stirShakenLoaded ?? false });
    const settings: AsteriskSettings = { ...DEFAULT_ASTERISK, attestationWords: world.callerIds.attestationWords, ...options.settings };
    driver = createAsteriskDriver({ url: sim.url, user: sim.username, password: sim.password, app: 'callguard', settings, requestTimeoutMs: PATIENCE_MS }, { screener: world.screener, logger: world.logger });
    await driver.start();
  }
  afterEach(async () => {
    await driver.stop(500);
    expect(sim.internalErrors).toEqual([]);
    await sim.close();
    world.callLog.close();
    world.db.close();
    dir.remove();
  });

  const call = async (options: Omit<PlaceCallOptions, 'exten'>) => {
    const placed = sim.placeCall({ exten: DID, context: 'callguard-inbound', ...options });
    return placed.done;
  };
  /** What the simulated Asterisk logged as ERROR or WARNING. */
  const problems = () => sim.asteriskLog.filter((line) => line.level === 'ERROR' || line.level === 'WARNING');

  it.each<[string, Record<string, string>, string, number | null]>([
    ['P-Attestation-Indicator', { 'P-Attestation-Indicator': 'C' }, 'C', 21],
    ['X-Attestation-Info', { 'X-Attestation-Info': 'TN-Validation-Passed-A' }, 'A', null],
    ['a configured carrier word', { 'X-Attestation-Info': 'Spoofed' }, 'failed', 21],
    ['verstat in P-Asserted-Identity (tel: URI)', { 'P-Asserted-Identity': `<tel:${CALLER};verstat=TN-Validation-Failed>` }, 'failed', 21],
    ['verstat in an anonymous From', { From: '"Anonymous" <sip:anonymous@anonymous.invalid;verstat=TN-Validation-Passed-B>;tag=1' }, 'B', null],
    ['nothing', {}, 'none', null],
  ])('a PJSIP call carrying %s is read as the right attestation', async (_, headers, attestation, cause) => {
    await start();
    const result = await call({ callerNumber: CALLER, sipHeaders: { From: `<sip:${CALLER}@carrier.example>;tag=1`, ...headers } });
    expect(world.seen.at(-1)?.attestation).toBe(attestation);
    if (cause === null) expect(result.outcome).toBe('continued');
    else expect(result).toMatchObject({ hangupCause: cause });
    expect(problems()).toEqual([]);
  });

  it.each<[string, StirShakenResult[], string]>([
    ['passed, A', [{ identity: 'x', attestation: 'A', verify_result: 'success' }], 'A'],
    ['passed, C', [{ identity: 'x', attestation: 'C', verify_result: 'success' }], 'C'],
    ['a signature that does not verify', [{ identity: 'x', attestation: 'A', verify_result: 'signature_validation' }], 'failed'],
    ['no Identity header', [], 'none'],
  ])("Asterisk's own STIR_SHAKEN() result where res_stir_shaken runs: %s", async (_, stirShaken, attestation) => {
    await start({ stirShakenLoaded: true });
    // A carrier header saying otherwise comes second: Asterisk's own verification is read first.
    await call({ callerNumber: CALLER, stirShaken, sipHeaders: { From: `<sip:${CALLER}@carrier.example>;tag=1`, 'X-Attestation-Info': 'TN-Validation-Passed-B' } });
    expect(world.seen.at(-1)?.attestation).toBe(stirShaken.length === 0 ? 'B' : attestation);
    expect(problems()).toEqual([]);
  });

  it('without res_stir_shaken the dialplan does not call STIR_SHAKEN(): nothing logged', async () => {
    await start();
    await call({ callerNumber: CALLER });
    await call({ callerNumber: CALLER, endpoint: 'IAX2/provider' });
    expect(problems()).toEqual([]);
    expect(sim.asteriskLog.filter((line) => /STIR_SHAKEN/.test(line.message))).toEqual([]);
  });

  it('a configured withheld number is anonymous: the anonymous rule answers it busy', async () => {
    await start();
    expect(await call({ callerNumber: WITHHELD_E164 })).toMatchObject({ hangupCause: 17 });
    expect(world.seen.at(-1)?.from).toBe(WITHHELD_E164);
    expect(await call({ callerNumber: 'WITHHELD' })).toMatchObject({ hangupCause: 17 });
    expect(await call({ callerNumber: '0000' })).toMatchObject({ hangupCause: 17 });
    expect((await call({ callerNumber: CALLER })).outcome).toBe('continued');
  });

  it('channelFacts: the list is tried in order, then P-Asserted-Identity, then From', () => {
    const facts = (channelvars: Record<string, string>) =>
      channelFacts({ id: '1', name: 'PJSIP/trunk-1', state: 'Ring', caller: { name: '', number: CALLER }, dialplan: { exten: DID }, channelvars } as never, DEFAULT_ASTERISK).attestation;
    expect(facts({ CALLGUARD_STIR_SHAKEN: 'verify_result=success,attestation=A', CALLGUARD_P_ATTESTATION: 'C' })).toBe('A');
    expect(facts({ CALLGUARD_P_ATTESTATION: 'C', CALLGUARD_PAI: `<sip:${CALLER}@x;verstat=TN-Validation-Passed-A>` })).toBe('C');
    expect(facts({ CALLGUARD_PAI: `<sip:${CALLER}@x;verstat=TN-Validation-Passed-A>` })).toBe('A');
    expect(facts({ CALLGUARD_SIP_FROM: '<sip:anonymous@anonymous.invalid;verstat=TN-Validation-Failed>;tag=1' })).toBe('failed');
    expect(facts({ CALLGUARD_P_ATTESTATION: 'Spoofed' })).toBe('none');
  });
});

describe('the command line decides as the agent does (needs the built dist)', () => {
  let dir: TempDir;
  beforeEach(() => {
    assertBuilt();
    dir = makeTempDir('callguard-cli-callerid-');
  });
  afterEach(() => dir.remove());

  it('explain reads anonymous and attestation from the config file', () => {
    const config = dir.file('callguard.json');
    fs.writeFileSync(config, JSON.stringify({ db: dir.file('c.db'), ...SECTIONS }));
    const anonymous = runCli(['--config', config, 'explain', '--from', WITHHELD_NUMBER, '--to', DID]);
    expect(anonymous.status, describeRun(anonymous)).toBe(0);
    expect(anonymous.stdout).toContain('Caller is anonymous: caller number 7378742833 is set as withheld (anonymous.numbers)');
    const word = runCli(['--config', config, 'explain', '--from', CALLER, '--to', DID, '--attestation', 'Spoofed', '--json']);
    expect(word.status, describeRun(word)).toBe(0);
    // Without the config, the carrier word is not one callguard knows.
    const plain = runCli(['--db', dir.file('c.db'), 'explain', '--from', CALLER, '--to', DID, '--attestation', 'Spoofed']);
    expect(plain.status).toBe(2);
    expect(plain.stderr).toBe('callguard: bad attestation "Spoofed": expected A, B, C or failed\n');
  });

  it('an unknown attestation word in the mapping: exit 2, one line', () => {
    const config = dir.file('bad.json');
    fs.writeFileSync(config, JSON.stringify({ db: dir.file('c.db'), attestation: { words: { 'TN-Verified': 'D' } } }));
    const result = runCli(['--config', config, 'explain', '--from', CALLER, '--to', DID]);
    expect(result.status, describeRun(result)).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).toMatch(/^callguard: config .*bad\.json: attestation\.words: "TN-Verified" means "D", an unknown attestation: expected one of "A", "B", "C", "failed", "none"/);
  });
});
