// The FreeSWITCH files we ship, loaded the way FreeSWITCH loads them: every file is
// well-formed XML to a strict parser and survives the line-by-line preprocessor; installed
// as the README and their own comments say into a conf folder laid out like the stock one,
// they put callguard's extensions where they must be, with the conditions and actions the
// driver expects; and calls routed through that assembled dialplan by the simulator reach
// their normal route however callguard treats them.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../agent/config/schema';
import { ROUTE_TOKEN } from '../agent/pbx/freeswitch/esl-text';
import { FreeSwitchInboundClient } from '../agent/pbx/freeswitch/inbound-client';
import { AGENT_MARK, ALIVE_UNTIL, aliveVariable, FAIL_OPEN_TASK, SCREEN_MARK, SCREENED_MARK } from '../agent/pbx/freeswitch/screen-marks';
import { DEFAULT_FREESWITCH } from '../agent/pbx/settings';
import { CHATPLAN_INCLUDE_LINE, INSTALL, stockConf } from './helpers/freeswitch-conf';
import type { ConfTree } from './helpers/freeswitch-conf';
import { repoRoot } from './helpers/run-cli';
import { eventually, screeningWorld } from './helpers/screening';
import type { ScreeningWorld } from './helpers/screening';
import { childrenNamed, FreeSwitchSim, hunt, parseXml, preprocess, SimCall } from './sim/freeswitch';
import type { CallSpec, XmlNode } from './sim/freeswitch';

const DID = '15551230000';
const DIALPLAN = join(repoRoot, 'dialplan');

function filesUnder(dir: string, ending: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path, ending);
    return name.endsWith(ending) ? [path] : [];
  });
}

/**
 * What FreeSWITCH's preprocessor would do wrong with a file: it drops every line holding
 * `<include>`, `</include>` or `<?` whatever else is on it; it carries out an X-PRE-PROCESS
 * tag even inside a comment (and drops a line naming one without its "<"); it treats
 * `<!--#` as a command; and it replaces `$${…}` everywhere, comments included.
 */
function preprocessorProblems(text: string): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    const at = `line ${index + 1}`;
    if (/<\/?include>/.test(line) && line.trim() !== '<include>' && line.trim() !== '</include>') problems.push(`${at}: <include> or </include> shares its line`);
    if (/<\?/.test(line)) problems.push(`${at}: "<?" makes the preprocessor drop the line`);
    if (/X-PRE-PROCESS/i.test(line)) problems.push(`${at}: X-PRE-PROCESS text is acted on (or its line dropped) even inside a comment`);
    if (line.includes('<!--#')) problems.push(`${at}: "<!--#" is a preprocessor command`);
    if (line.includes('$${')) problems.push(`${at}: "$\${" is replaced by the preprocessor`);
  });
  return problems;
}

/** A file as a snippet is used: preprocessed inside a context, then parsed strictly. */
function parseAsIncluded(path: string): XmlNode {
  const dir = mkdtempSync(join(tmpdir(), 'callguard-include-'));
  try {
    writeFileSync(join(dir, 'context.xml'), `<context name="x">\n<X-PRE-PROCESS cmd="include" data="${path}"/>\n</context>\n`);
    return parseXml(preprocess(join(dir, 'context.xml')).text, `${relative(repoRoot, path)} as included`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('every FreeSWITCH file we ship loads', () => {
  const files = filesUnder(DIALPLAN, '.xml');

  it('finds the files', () => {
    expect(files.map((file) => relative(DIALPLAN, file)).sort()).toEqual([
      'freeswitch/callguard-block-last.xml',
      'freeswitch/callguard-inbound-pair.xml',
      'freeswitch/callguard-inbound.xml',
      'freeswitch/callguard-outbound-calls.xml',
      'freeswitch/callguard-outbound.xml',
      'freeswitch/chatplan-callguard.xml',
    ]);
  });

  for (const file of files) {
    const name = relative(DIALPLAN, file);
    it(`${name} is well-formed XML and safe for the preprocessor`, () => {
      const text = readFileSync(file, 'utf8');
      expect(() => parseXml(text, name)).not.toThrow();
      expect(preprocessorProblems(text)).toEqual([]);
      const context = parseAsIncluded(file).children[0]!;
      expect(context.name).toBe('context');
      expect(childrenNamed(context, 'extension').length).toBeGreaterThan(0);
    });
  }

  it('the checks catch what broke a real FreeSWITCH', () => {
    // Two dashes in a comment: "unclosed <!--" on the real switch.
    expect(() => parseXml('<include>\n<!-- callguard serve --pbx freeswitch -->\n</include>', 'bad')).toThrow(/bad: .*comment/);
    // A bare "<" in an attribute value.
    expect(() => parseXml('<c field="${cond(1 < 2 ? yes : no)}"/>', 'bad')).toThrow();
    expect(preprocessorProblems('<include><context name="public">')).toHaveLength(1);
    expect(preprocessorProblems('<!-- add <X-PRE-PROCESS cmd="include" data="x.xml"/> here -->')).toHaveLength(1);
  });
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'callguard-conf-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A channel to hunt the dialplan for, without placing a call. */
function channel(sim: FreeSwitchSim, spec: CallSpec = {}): SimCall {
  return new SimCall(sim, 'inbound', { destinationNumber: DID, context: 'public', ...spec });
}

const actions = (context: XmlNode, ch: SimCall) => hunt(context, ch).actions.map((action) => `${action.application} ${action.data}`.trim());

describe('installed as the README says, into a stock-layout conf folder', () => {
  const sim = new FreeSwitchSim();
  afterEach(() => sim.globals.delete(ALIVE_UNTIL));

  it('outbound: the first extension of public hands every call to callguard, then the normal route follows', () => {
    const conf = stockConf(dir, { [INSTALL.outbound]: 'callguard-outbound.xml' });
    const { warnings } = conf.load();
    expect(warnings).toEqual([]);
    const found = hunt(conf.context('dialplan', 'public'), channel(sim));
    expect(found.extensions).toEqual(['outside_call', 'callguard-screen', 'did-reception']);
    const socket = found.actions.find((action) => action.application === 'socket');
    // The address `callguard serve` listens on by default, the synchronous form (no async), full control.
    expect(socket?.data).toBe(`${CONFIG_DEFAULTS.freeswitch.listen} full`);
    expect(found.actions.map((action) => action.application)).toEqual(['set', 'socket', 'bridge']);
  });

  describe('inbound', () => {
    let conf: ConfTree;
    let publicContext: XmlNode;
    beforeEach(() => {
      conf = stockConf(dir, { [INSTALL.inbound]: 'callguard-inbound.xml' });
      publicContext = conf.context('dialplan', 'public');
    });
    const alive = (forSeconds: number) => sim.globals.set(ALIVE_UNTIL, String(Math.floor(Date.now() / 1000) + forSeconds));
    /** A heartbeat that cannot run out between setting it and the dialplan reading it, however slow the machine. */
    const ALIVE_S = 3600;

    it('with callguard alive: marks the call, schedules its own way out, parks it', () => {
      alive(ALIVE_S);
      expect(actions(publicContext, channel(sim))).toEqual([
        'set outside_call=true',
        `set ${SCREEN_MARK}=true`,
        `sched_transfer +2 ${DID} XML \${context}`,
        `set ${FAIL_OPEN_TASK}=\${last_sched_id}`,
        'park',
        'bridge user/1000',
      ]);
    });

    it('with callguard gone (heartbeat unset, past or cleared to 0): straight to the normal route', () => {
      expect(actions(publicContext, channel(sim))).toEqual(['set outside_call=true', 'bridge user/1000']);
      alive(-1);
      expect(actions(publicContext, channel(sim))).toEqual(['set outside_call=true', 'bridge user/1000']);
      sim.globals.set(ALIVE_UNTIL, '0');
      expect(actions(publicContext, channel(sim))).toEqual(['set outside_call=true', 'bridge user/1000']);
    });

    it('a call callguard let through, or one sent on by its fail-open transfer, is never parked again', () => {
      alive(ALIVE_S);
      const letThrough = channel(sim, { variables: { [SCREEN_MARK]: 'true', [SCREENED_MARK]: 'true' } });
      expect(actions(publicContext, letThrough)).toEqual(['set outside_call=true', 'bridge user/1000']);
      const failedOpen = channel(sim, { variables: { [SCREEN_MARK]: 'true' } });
      expect(actions(publicContext, failedOpen)).toEqual(['set outside_call=true', `set ${SCREENED_MARK}=fail-open`, 'bridge user/1000']);
    });

    it('parks only destinations the driver can transfer back safely (the same character set)', () => {
      alive(ALIVE_S);
      const destinationCondition = childrenNamed(childrenNamed(publicContext, 'extension').find((e) => e.attributes.name === 'callguard-screen')!, 'condition').find(
        (condition) => condition.attributes.field === 'destination_number',
      );
      expect(destinationCondition?.attributes.expression?.replace('(', '').replace(')', '')).toBe(ROUTE_TOKEN.source);
      for (const hostile of ["1000 inline", "bridge:x/9 inline", "15551230000'", '${system(id)}']) {
        expect(actions(publicContext, channel(sim, { destinationNumber: hostile }))).not.toContain('park');
      }
    });

    it('uses the names the agent uses', () => {
      const text = readFileSync(join(DIALPLAN, 'freeswitch', 'callguard-inbound.xml'), 'utf8');
      for (const name of [SCREEN_MARK, SCREENED_MARK, ALIVE_UNTIL, FAIL_OPEN_TASK]) expect(text).toContain(`${name}`);
    });
  });

  describe('inbound, a failover pair', () => {
    let publicContext: XmlNode;
    beforeEach(() => {
      publicContext = stockConf(dir, { [INSTALL.inbound]: 'callguard-inbound-pair.xml' }).context('dialplan', 'public');
    });
    afterEach(() => {
      sim.globals.delete(aliveVariable('a'));
      sim.globals.delete(aliveVariable('b'));
    });
    const heartbeat = (letter: 'a' | 'b', value: string) => sim.globals.set(aliveVariable(letter), value);
    const fresh = () => String(Math.floor(Date.now() / 1000) + 3600);
    const past = () => String(Math.floor(Date.now() / 1000) - 1);
    const parkedFor = (letter: 'a' | 'b') => [
      'set outside_call=true',
      `set ${SCREEN_MARK}=true`,
      `set ${AGENT_MARK}=${letter}`,
      `sched_transfer +2 ${DID} XML \${context}`,
      `set ${FAIL_OPEN_TASK}=\${last_sched_id}`,
      'park',
      'bridge user/1000',
    ];

    it('parks each call for a while its heartbeat is fresh, whatever b does', () => {
      heartbeat('a', fresh());
      expect(actions(publicContext, channel(sim))).toEqual(parkedFor('a'));
      heartbeat('b', fresh());
      expect(hunt(publicContext, channel(sim)).extensions).toEqual(['outside_call', 'callguard-screen-a', 'did-reception']);
    });

    it('parks it for b when a is unset, stopped (0) or dead (a past second)', () => {
      heartbeat('b', fresh());
      expect(actions(publicContext, channel(sim))).toEqual(parkedFor('b'));
      for (const gone of ['0', past()]) {
        heartbeat('a', gone);
        expect(actions(publicContext, channel(sim))).toEqual(parkedFor('b'));
      }
    });

    it('with neither agent up: straight to the normal route', () => {
      expect(actions(publicContext, channel(sim))).toEqual(['set outside_call=true', 'bridge user/1000']);
      heartbeat('a', '0');
      heartbeat('b', past());
      expect(actions(publicContext, channel(sim))).toEqual(['set outside_call=true', 'bridge user/1000']);
    });

    it('never parks a call twice, and marks one sent on by its own transfer as failed open', () => {
      heartbeat('a', fresh());
      heartbeat('b', fresh());
      const letThrough = channel(sim, { variables: { [SCREEN_MARK]: 'true', [AGENT_MARK]: 'a', [SCREENED_MARK]: 'true' } });
      expect(actions(publicContext, letThrough)).toEqual(['set outside_call=true', 'bridge user/1000']);
      const failedOpen = channel(sim, { variables: { [SCREEN_MARK]: 'true', [AGENT_MARK]: 'b' } });
      expect(actions(publicContext, failedOpen)).toEqual(['set outside_call=true', `set ${SCREENED_MARK}=fail-open`, 'bridge user/1000']);
    });

    it('uses the names the agent uses', () => {
      const text = readFileSync(join(DIALPLAN, 'freeswitch', 'callguard-inbound-pair.xml'), 'utf8');
      for (const name of [SCREEN_MARK, SCREENED_MARK, AGENT_MARK, aliveVariable('a'), aliveVariable('b'), FAIL_OPEN_TASK]) expect(text).toContain(name);
    });
  });

  it('the *32 feature code lands in the default context', () => {
    const conf = stockConf(dir, { [INSTALL.blockLast]: 'callguard-block-last.xml' });
    const names = childrenNamed(conf.context('dialplan', 'default'), 'extension').map((extension) => extension.attributes.name);
    expect(names).toEqual(['Local_Extension', 'callguard-block-last', 'callguard-block-last-said', 'example-feature']);
    expect(hunt(conf.context('dialplan', 'default'), channel(sim, { destinationNumber: '*32', context: 'default', variables: { callguard_did: '+15551230000' } })).extensions).toEqual([
      'callguard-block-last',
    ]);
  });

  describe('texts', () => {
    it('following the chatplan file: both extensions inside the default context, ahead of its own', () => {
      const conf = stockConf(dir, { [INSTALL.chatplan]: 'chatplan-callguard.xml' }, CHATPLAN_INCLUDE_LINE);
      const { document, warnings } = conf.load();
      expect(warnings).toEqual([]);
      const section = childrenNamed(document.children[0]!, 'section').find((node) => node.attributes.name === 'chatplan')!;
      expect(childrenNamed(section, 'extension')).toEqual([]);
      const names = childrenNamed(conf.context('chatplan', 'default'), 'extension').map((extension) => extension.attributes.name);
      expect(names).toEqual(['callguard-ask', 'callguard-drop-blocked', 'demo']);
    });

    it('what a real switch did with the old instructions: saved into chatplan/, the extensions land outside every context', () => {
      const conf = stockConf(dir, { 'chatplan/callguard.xml': 'chatplan-callguard.xml' }, '<X-PRE-PROCESS cmd="include" data="chatplan/callguard.xml"/>');
      const { document, warnings } = conf.load();
      const section = childrenNamed(document.children[0]!, 'section').find((node) => node.attributes.name === 'chatplan')!;
      expect(childrenNamed(section, 'extension').map((extension) => extension.attributes.name)).toEqual(['callguard-ask', 'callguard-drop-blocked']);
      expect(childrenNamed(conf.context('chatplan', 'default'), 'extension').map((extension) => extension.attributes.name)).toEqual(['demo']);
      // The relative include resolved from conf/chatplan/, where there is no chatplan/ folder.
      expect(warnings).toEqual([`No files to include at ${join(dir, 'chatplan', 'chatplan', 'callguard.xml')}`]);
    });
  });
});

describe('calls routed through the assembled inbound dialplan, callguard connected', () => {
  let sim: FreeSwitchSim;
  let world: ScreeningWorld;
  let client: FreeSwitchInboundClient;
  let publicContext: XmlNode;

  beforeEach(async () => {
    sim = new FreeSwitchSim({ password: 'ClueCon' });
    // The dialplan's fail-open transfer (sched_transfer +2) would run 1 to 2.5 s after the park, racing callguard's
    // claim on a slow machine. Put off by an hour, it cannot: what these tests check is that the claim (sched_del)
    // removes it, and the one test of a claim that comes too late runs the transfer itself.
    const add = sim.scheduler.add.bind(sim.scheduler);
    sim.scheduler.add = (runtime, group, run) => add(runtime + 3600, group, run);
    const port = await sim.start();
    world = screeningWorld();
    client = new FreeSwitchInboundClient({ host: '127.0.0.1', port, password: 'ClueCon' }, { screener: world.screener, logger: world.logger, settings: DEFAULT_FREESWITCH });
    await client.start();
    await eventually(() => sim.globals.has(ALIVE_UNTIL));
    publicContext = stockConf(dir, { [INSTALL.inbound]: 'callguard-inbound.xml' }).context('dialplan', 'public');
  });
  afterEach(async () => {
    await client.stop(200);
    await sim.close();
    world.close();
  });

  const route = (caller: string) => sim.routeInboundCall({ callerIdNumber: caller, destinationNumber: DID, context: 'public' }, publicContext);

  it('allow: callguard cancels the fail-open transfer and hands the call back with API commands only, once', async () => {
    const { call, routed } = route('+12125551234');
    const result = await routed;
    expect(result).toMatchObject({ ending: 'normal-route', normalRoute: 'bridge user/1000', leftParkVia: 'uuid_transfer' });
    expect(result.hunts).toEqual([
      ['outside_call', 'callguard-screen', 'did-reception'],
      ['outside_call', 'did-reception'],
    ]);
    // The agent's commands about this call (not the dialplan's own ${…} lookups): no sendmsg, which would wait for a turn of its own.
    const sent = call.commands.filter((command) => (command.kind === 'api' && !command.raw.startsWith('${')) || command.kind === 'sendmsg');
    expect(sent.map((command) => command.command ?? `sendmsg ${command.app}`)).toEqual(['uuid_setvar', 'uuid_transfer']);
    const claim = sim.commandLog.find((entry) => entry.command.command === `api sched_del ${call.getVar(FAIL_OPEN_TASK)}`);
    expect(claim).toBeDefined();
    expect(call.getVar(SCREENED_MARK)).toBe('true');
    expect(sim.scheduler.pending).toBe(0);
    await eventually(() => world.calls()[0]?.outcome === 'continued');
  });

  it('block: the call is cleared where it waits and never reaches the normal route, and its fail-open transfer never fires', async () => {
    world.rule('404*', 'block');
    const { call, routed } = route('4045551234');
    expect(await routed).toMatchObject({ ending: 'hungup' });
    expect(call.hangupCause?.code).toBe(21);
    expect(sim.scheduler.pending).toBe(0);
  });

  it('a call callguard was too late for (its fail-open transfer already ran) is left alone, not screened', async () => {
    world.rule('404*', 'block');
    // The agent's claim comes too late: the scheduled transfer has just run.
    sim.defineApi('sched_del', () => '+OK Deleted: 0\n');
    const { call, routed } = route('4045551234');
    await call.whenParked();
    call.transfer(DID, 'XML', 'public', 'sched_transfer');
    const result = await routed;
    expect(result).toMatchObject({ ending: 'normal-route', leftParkVia: 'sched_transfer' });
    expect(call.getVar(SCREENED_MARK)).toBe('fail-open');
    expect(call.commands.filter((command) => command.kind === 'sendmsg')).toEqual([]);
    expect(world.calls()).toEqual([]);
  });
});

describe('calls routed through the pair dialplan, both agents of the pair connected', () => {
  let sim: FreeSwitchSim;
  let port: number;
  let worlds: { a: ScreeningWorld; b: ScreeningWorld };
  let clients: { a: FreeSwitchInboundClient; b: FreeSwitchInboundClient };
  let publicContext: XmlNode;

  const connect = async (letter: 'a' | 'b') => {
    const world = worlds[letter];
    const client = new FreeSwitchInboundClient({ host: '127.0.0.1', port, password: 'ClueCon', pairAs: letter }, { screener: world.screener, logger: world.logger, settings: DEFAULT_FREESWITCH });
    await client.start();
    await eventually(() => Number(sim.globals.get(aliveVariable(letter))) > 0);
    return client;
  };

  beforeEach(async () => {
    sim = new FreeSwitchSim({ password: 'ClueCon' });
    // As above: the fail-open transfer put off by an hour cannot race the agent's claim on a slow machine.
    const add = sim.scheduler.add.bind(sim.scheduler);
    sim.scheduler.add = (runtime, group, run) => add(runtime + 3600, group, run);
    port = await sim.start();
    worlds = { a: screeningWorld({ challenge: { digit: '1', timeoutMs: 60_000, tries: 1 } }), b: screeningWorld() };
    clients = { a: await connect('a'), b: await connect('b') };
    publicContext = stockConf(dir, { [INSTALL.inbound]: 'callguard-inbound-pair.xml' }).context('dialplan', 'public');
  });
  afterEach(async () => {
    await clients.a.stop(200);
    await clients.b.stop(200);
    await sim.close();
    worlds.a.close();
    worlds.b.close();
  });

  const route = (caller: string) => sim.routeInboundCall({ callerIdNumber: caller, destinationNumber: DID, context: 'public' }, publicContext);
  const channels = (world: ScreeningWorld) => world.calls().map((row) => row.channel);

  it('the scheduler counts a task deleted twice as deleted twice, as FreeSWITCH does until its next pass: no claim to race on', () => {
    const id = sim.scheduler.add(Math.floor(Date.now() / 1000) + 3600, 'x', () => undefined);
    expect(sim.scheduler.deleteId(id)).toBe(1);
    expect(sim.scheduler.deleteId(id)).toBe(1);
    expect(sim.scheduler.pending).toBe(0);
  });

  it('every call is taken by a, once, and none by b', async () => {
    worlds.a.rule('404*', 'block');
    worlds.b.rule('404*', 'block');
    const calls = ['4045550001', '2125550002', '4045550003', '2125550004'].map(route);
    const results = await Promise.all(calls.map((call) => call.routed));
    expect(results.map((result) => result.ending)).toEqual(['hungup', 'normal-route', 'hungup', 'normal-route']);
    await eventually(() => worlds.a.calls().filter((row) => row.outcome !== null).length === 4);
    expect(channels(worlds.a).sort()).toEqual(calls.map((call) => call.call.uuid).sort());
    expect(worlds.b.calls()).toEqual([]);
    for (const { call } of calls) expect(call.getVar(AGENT_MARK)).toBe('a');
  });

  it('a stopping: new calls go to b at once, the call a holds is finished by a, then a is gone', async () => {
    worlds.a.rule('404*', 'challenge');
    const held = route('4045550001');
    await eventually(() => held.call.commands.some((command) => command.app === 'play_and_get_digits'), undefined, 'the challenge to be asked');
    const stopped = clients.a.stop(60_000);
    await eventually(() => sim.globals.get(aliveVariable('a')) === '0', undefined, "a's heartbeat to go to 0");
    const after = route('2125550002');
    expect(await after.routed).toMatchObject({ ending: 'normal-route' });
    expect(after.call.getVar(AGENT_MARK)).toBe('b');
    await eventually(() => channels(worlds.b).includes(after.call.uuid), undefined, 'b to log the call');
    held.call.pressDigits('1');
    expect(await held.routed).toMatchObject({ ending: 'normal-route' });
    await stopped;
    expect(worlds.a.calls()).toMatchObject([{ channel: held.call.uuid, action: 'challenge', outcome: 'passed' }]);
    expect(channels(worlds.b)).toEqual([after.call.uuid]);
  });

  it('a restarted a sends on a call its earlier run took and died screening, without screening it again', async () => {
    worlds.a.rule('404*', 'block');
    await clients.a.stop(0);
    // What the killed run left: a call parked for a whose fail-open transfer that run had cancelled (and FreeSWITCH has freed).
    const task = sim.scheduler.add(Math.floor(Date.now() / 1000) + 3600, 'x', () => undefined);
    sim.scheduler.deleteId(task);
    await eventually(() => sim.runApi('sched_del', String(task)) === '+OK Deleted: 0\n');
    const stranded = sim.parkCall({ callerIdNumber: '4045550001', destinationNumber: DID, context: 'public', dialplanSet: { [SCREEN_MARK]: 'true', [AGENT_MARK]: 'a', [FAIL_OPEN_TASK]: String(task) } });
    await stranded.whenParked();
    clients.a = await connect('a');
    expect((await stranded.done).outcome).toBe('transferred');
    expect(stranded.getVar(SCREENED_MARK)).toBe('true');
    expect(worlds.a.calls()).toEqual([]);
  });

  it("b sends on a call a died screening (a's heartbeat a past second), without screening it", async () => {
    worlds.b.rule('404*', 'block');
    await clients.a.stop(0);
    // What a killed a leaves: a call parked for it and claimed (its fail-open transfer cancelled), and a heartbeat that ran out.
    sim.globals.set(aliveVariable('a'), String(Math.floor(Date.now() / 1000) - 1));
    const stranded = sim.parkCall({ callerIdNumber: '4045550001', destinationNumber: DID, context: 'public', dialplanSet: { [SCREEN_MARK]: 'true', [AGENT_MARK]: 'a' } });
    const result = await stranded.done;
    expect(result.outcome).toBe('transferred');
    expect(stranded.getVar(SCREENED_MARK)).toBe('true');
    expect(worlds.b.calls()).toEqual([]);
  });
});
