// One `callguard serve` with three switches from its config file's `pbxes`: a FreeSWITCH
// whose dialplan connects to it (outbound), a FreeSWITCH it connects to (inbound) and an
// Asterisk (ARI), each a simulator. Calls on all three at once are screened; the log,
// /healthz and /metrics name the switch; one switch gone leaves the other two serving.
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port';
import { until } from './helpers/patience';
import { runCli } from './helpers/run-cli';
import { serveWithConfig } from './helpers/serve-process';
import { makeTempDir, withDatabase } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';
import { startAsteriskSim } from './sim/asterisk';
import type { AsteriskSim } from './sim/asterisk';
import { FreeSwitchSim } from './sim/freeswitch';

const DID = '15551230000';
const BLOCKED = '4045550111';
const ALLOWED = '2125550123';
const ESL_PASSWORD = 'west-esl-secret';
const ARI_PASSWORD = 'ast-ari-secret';

interface Health {
  readonly pbx: boolean;
  readonly pbxes: { name: string; kind: string; connected: boolean }[];
}

interface Switches {
  readonly east: FreeSwitchSim;
  readonly west: FreeSwitchSim;
  readonly ast: AsteriskSim;
  readonly eastPort: number;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function switches(): Promise<Switches> {
  const east = new FreeSwitchSim();
  const west = new FreeSwitchSim({ password: ESL_PASSWORD });
  await west.start();
  const ast = await startAsteriskSim({ password: ARI_PASSWORD });
  cleanups.push(() => east.close(), () => west.close(), () => ast.close());
  return { east, west, ast, eastPort: await freePort() };
}

/** `callguard serve --config` with these connections, the block rule in its database. */
async function serve(dir: TempDir, pbxes: object[], env: Record<string, string>) {
  const db = dir.file('agent.db');
  expect(runCli(['--db', db, 'rules', 'add', '404*', '--action', 'block']).status).toBe(0);
  const agent = await serveWithConfig(dir, { pbxes, http: { listen: `127.0.0.1:${await freePort()}` }, console: { enabled: false } }, cleanups, { env });
  return {
    ...agent,
    db,
    health: async () => JSON.parse(await agent.get('/healthz')) as Health,
    healthWhen: (check: (health: Health) => boolean, what: string) => agent.healthWhen<Health>(check, what),
    metrics: () => agent.get('/metrics'),
  };
}

const connections = (sims: Switches) => [
  { name: 'fs-east', pbx: 'freeswitch', mode: 'outbound', listen: `127.0.0.1:${sims.eastPort}` },
  { name: 'fs-west', pbx: 'freeswitch', mode: 'inbound', esl: `127.0.0.1:${sims.west.port}` },
  { name: 'ast-1', pbx: 'asterisk', url: sims.ast.url, user: sims.ast.username },
];
const PASSWORDS = { CALLGUARD_PBX_FS_WEST_PASSWORD: ESL_PASSWORD, CALLGUARD_PBX_AST_1_PASSWORD: ARI_PASSWORD };

/** A call on each switch from `caller`; how each ended, by the switch's name. */
function callEach(sims: Switches, caller: string, which: readonly string[] = ['fs-east', 'fs-west', 'ast-1']): Promise<Record<string, string>> {
  const ends: Record<string, Promise<string>> = {};
  if (which.includes('fs-east')) {
    ends['fs-east'] = sims.east.placeOutboundCall('127.0.0.1', sims.eastPort, { callerIdNumber: caller, destinationNumber: DID }).done.then((r) => (r.outcome === 'hungup' ? `hungup:${r.hangupCause}` : r.outcome));
  }
  if (which.includes('fs-west')) {
    const parked = sims.west.parkCall({ callerIdNumber: caller, destinationNumber: DID, context: 'public', dialplanSet: { callguard_screen: 'true' } });
    ends['fs-west'] = parked.done.then((r) => (r.outcome === 'hungup' ? `hungup:${r.hangupCause}` : r.outcome));
  }
  if (which.includes('ast-1')) {
    const call = sims.ast.placeCall({ callerNumber: caller, exten: DID, context: 'callguard-inbound', priority: 2 });
    ends['ast-1'] = call.done.then((r) => (r.outcome === 'hungup' ? `hungup:${r.hangupCause}` : r.outcome));
  }
  return Promise.all(Object.entries(ends).map(async ([name, end]) => [name, await end] as const)).then(Object.fromEntries);
}

/** The logged calls (once each has its outcome), as `switch caller action outcome`. */
async function logged(db: string, count: number): Promise<string[]> {
  const rows = () => withDatabase(db, (database) => database.prepare('SELECT pbx, source, caller, action, outcome FROM calls WHERE outcome IS NOT NULL ORDER BY pbx, caller').all() as Record<string, string>[]);
  await until(() => rows().length >= count, `${count} calls logged with their outcomes`);
  return rows().map((row) => `${row.pbx} ${row.source} ${row.caller} ${row.action} ${row.outcome}`);
}

const sample = (metrics: string, line: RegExp) => Number(metrics.split('\n').find((text) => line.test(text))?.split(' ').at(-1));

describe('one agent, several switches', () => {
  it('screens calls on two FreeSWITCH (outbound and inbound) and an Asterisk at once; one stopped, the other two serve', async () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const sims = await switches();
    const agent = await serve(dir, connections(sims), PASSWORDS);
    const health = await agent.healthWhen((shown) => shown.pbx, 'every switch connected');
    expect(health.pbxes).toEqual([
      { name: 'fs-east', kind: 'freeswitch', connected: true },
      { name: 'fs-west', kind: 'freeswitch', connected: true },
      { name: 'ast-1', kind: 'asterisk', connected: true },
    ]);

    const [blocked, allowed] = await Promise.all([callEach(sims, BLOCKED), callEach(sims, ALLOWED)]);
    expect(blocked).toEqual({ 'fs-east': 'hungup:CALL_REJECTED', 'fs-west': 'hungup:CALL_REJECTED', 'ast-1': 'hungup:21' });
    expect(allowed).toEqual({ 'fs-east': 'continued', 'fs-west': 'transferred', 'ast-1': 'continued' });
    expect(await logged(agent.db, 6)).toEqual([
      `ast-1 asterisk +1${ALLOWED} allow continued`,
      `ast-1 asterisk +1${BLOCKED} block rejected`,
      `fs-east freeswitch +1${ALLOWED} allow continued`,
      `fs-east freeswitch +1${BLOCKED} block rejected`,
      `fs-west freeswitch +1${ALLOWED} allow continued`,
      `fs-west freeswitch +1${BLOCKED} block rejected`,
    ]);
    const log = runCli(['--db', agent.db, 'log']);
    expect(log.stdout).toMatch(/^ID +TIME +KIND +PBX +TENANT/);
    for (const name of ['fs-east', 'fs-west', 'ast-1']) expect(log.stdout).toMatch(new RegExp(` call +${name} +default `));

    const metrics = await agent.metrics();
    for (const name of ['fs-east', 'fs-west', 'ast-1']) {
      expect(sample(metrics, new RegExp(`^callguard_pbx_up\\{pbx="${name}"\\}`))).toBe(1);
      expect(sample(metrics, new RegExp(`^callguard_decisions_total\\{.*action="block".*pbx="${name}"`))).toBe(1);
      expect(sample(metrics, new RegExp(`^callguard_calls_in_progress\\{pbx="${name}"\\}`))).toBe(0);
    }

    // The inbound switch goes away: only it is reported down, and the other two go on screening.
    await sims.west.close();
    const without = await agent.healthWhen((shown) => !shown.pbxes[1]!.connected, 'fs-west shown down');
    expect(without.pbxes.map((pbx) => `${pbx.name}:${pbx.connected}`)).toEqual(['fs-east:true', 'fs-west:false', 'ast-1:true']);
    expect(await callEach(sims, BLOCKED, ['fs-east', 'ast-1'])).toEqual({ 'fs-east': 'hungup:CALL_REJECTED', 'ast-1': 'hungup:21' });
    expect((await logged(agent.db, 8)).filter((row) => row.includes(' block '))).toEqual([
      `ast-1 asterisk +1${BLOCKED} block rejected`,
      `ast-1 asterisk +1${BLOCKED} block rejected`,
      `fs-east freeswitch +1${BLOCKED} block rejected`,
      `fs-east freeswitch +1${BLOCKED} block rejected`,
      `fs-west freeswitch +1${BLOCKED} block rejected`,
    ]);
    expect(sample(await agent.metrics(), /^callguard_pbx_up\{pbx="fs-west"\}/)).toBe(0);
    expect(agent.child.exitCode).toBeNull();
  });
});

describe('a switch that cannot be started, among several', () => {
  it('is reported by name and tried again, while the others serve', async () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const sims = await switches();
    const agent = await serve(dir, connections(sims), { ...PASSWORDS, CALLGUARD_PBX_AST_1_PASSWORD: `${ARI_PASSWORD}-not` });
    const health = await agent.healthWhen((shown) => shown.pbxes[0]!.connected && shown.pbxes[1]!.connected, 'the FreeSWITCH connections');
    expect(health.pbxes.map((pbx) => `${pbx.name}:${pbx.connected}`)).toEqual(['fs-east:true', 'fs-west:true', 'ast-1:false']);
    expect(await callEach(sims, BLOCKED, ['fs-east', 'fs-west'])).toEqual({ 'fs-east': 'hungup:CALL_REJECTED', 'fs-west': 'hungup:CALL_REJECTED' });
    // Tried again with the same (wrong) password: a second refusal, and the agent serves on.
    await until(() => sims.ast.authFailures >= 2, 'ARI to be asked again');
    expect(agent.stderr()).toMatch(/"pbxName":"ast-1".*cannot start PBX connection ast-1; the others serve meanwhile/);
    expect(agent.stderr()).not.toContain(ARI_PASSWORD);
    expect(agent.child.exitCode).toBeNull();
  });
});

describe('the pbxes key of the config file', () => {
  const check = (dir: TempDir, config: object, env: Record<string, string> = {}) => {
    const file = dir.file('callguard.json');
    writeFileSync(file, JSON.stringify(config));
    return { file, ...runCli(['config', 'check', file], { env }) };
  };

  it('names each bad entry by its key, and config check exits 2', () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const result = check(dir, {
      pbxes: [
        { name: 'FS East', pbx: 'freeswitch', mode: 'outbound' },
        { name: 'fs-west', pbx: 'freeswitch', mode: 'sideways', colour: 'red' },
        { name: 'fs-west', pbx: 'yate' },
        { name: 'ast-1', pbx: 'asterisk', password: 12 },
        'fs-north',
      ],
    });
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      `callguard: ${result.file}: pbxes[0].name: expected a name of up to 32 characters a-z, 0-9 and - (such as fs-east), got "FS East"`,
      `callguard: ${result.file}: pbxes[1].mode: expected one of "outbound", "inbound", null, got "sideways"`,
      `callguard: ${result.file}: pbxes[1].colour: not a setting of a freeswitch connection`,
      `callguard: ${result.file}: pbxes[2].name: "fs-west" already names pbxes[1]`,
      `callguard: ${result.file}: pbxes[2].pbx: expected one of "freeswitch", "asterisk", got "yate"`,
      `callguard: ${result.file}: pbxes[3].password: expected one line of text`,
      `callguard: ${result.file}: pbxes[4]: expected an object such as {"name": "fs-east", "pbx": "freeswitch", "mode": "outbound"}`,
    ]);
    expect(check(dir, { pbxes: { name: 'fs-east' } }).stderr).toContain('pbxes: expected a list of PBX connections');
  });

  it('wants each password, from CALLGUARD_PBX_<NAME>_PASSWORD or the entry, and a mode for each FreeSWITCH', () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const pbxes = [
      { name: 'fs-west', pbx: 'freeswitch', mode: 'inbound', esl: '10.0.0.2:8021' },
      { name: 'ast-1', pbx: 'asterisk', url: 'http://10.0.0.3:8088' },
    ];
    const missing = check(dir, { pbxes });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('callguard: pbxes[0].eslPassword: fs-west needs its event-socket password: set CALLGUARD_PBX_FS_WEST_PASSWORD (or pbxes[0].eslPassword)\n');
    expect(check(dir, { pbxes }, { CALLGUARD_PBX_FS_WEST_PASSWORD: ESL_PASSWORD }).stderr).toBe(
      'callguard: pbxes[1].password: ast-1 needs its ARI password: set CALLGUARD_PBX_AST_1_PASSWORD (or pbxes[1].password)\n',
    );
    const ok = check(dir, { pbxes: [pbxes[0], { ...pbxes[1], password: ARI_PASSWORD }] }, { CALLGUARD_PBX_FS_WEST_PASSWORD: ESL_PASSWORD });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('"name": "ast-1"');
    expect(ok.stdout).not.toContain(ARI_PASSWORD);
    expect(check(dir, { pbxes: [{ name: 'fs-east', pbx: 'freeswitch' }] }).stderr).toMatch(/^callguard: pbxes\[0\]\.mode: fs-east needs a mode: "outbound" .* or "inbound"/);
    expect(check(dir, { pbx: 'freeswitch', pbxes: [{ name: 'fs-east', pbx: 'freeswitch', mode: 'outbound' }] }).stderr).toBe(
      'callguard: pbx: leave out pbx (and --pbx) when pbxes lists the switches\n',
    );
  });

  it('catches two connections that would share a port or a switch, and a pair setting where it means nothing', () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const env = { CALLGUARD_PBX_FS_WEST_PASSWORD: ESL_PASSWORD, CALLGUARD_PBX_FS_NORTH_PASSWORD: ESL_PASSWORD, CALLGUARD_PBX_AST_1_PASSWORD: ARI_PASSWORD, CALLGUARD_PBX_AST_2_PASSWORD: ARI_PASSWORD };
    const east = { name: 'fs-east', pbx: 'freeswitch', mode: 'outbound', listen: '127.0.0.1:8084' };
    const stderr = (config: object) => {
      const result = check(dir, config, env);
      expect(result.status, result.stdout).toBe(2);
      return result.stderr;
    };
    expect(stderr({ pbxes: [east, { ...east, name: 'fs-south' }] })).toBe(
      "callguard: pbxes[1].listen: 127.0.0.1:8084 is already fs-east's listen address (pbxes[0].listen); give each its own port\n",
    );
    // A wildcard address takes the port on every interface.
    expect(stderr({ pbxes: [east, { ...east, name: 'fs-south', listen: '0.0.0.0:8084' }] })).toMatch(/^callguard: pbxes\[1\]\.listen: 0\.0\.0\.0:8084 is already fs-east's/);
    expect(stderr({ pbxes: [{ ...east, listen: '127.0.0.1:8095' }] })).toBe(
      "callguard: http.listen: 127.0.0.1:8095 is already fs-east's listen address (pbxes[0].listen); give each its own port\n",
    );
    const west = { name: 'fs-west', pbx: 'freeswitch', mode: 'inbound', esl: '10.0.0.2:8021' };
    expect(stderr({ pbxes: [west, { ...west, name: 'fs-north' }] })).toBe(
      'callguard: pbxes[1].esl: the event socket at 10.0.0.2:8021 is already served by pbxes[0].esl; one agent connects to it once\n',
    );
    const ast = { name: 'ast-1', pbx: 'asterisk', url: 'http://10.0.0.3:8088' };
    expect(stderr({ pbxes: [ast, { ...ast, name: 'ast-2', url: 'http://10.0.0.3:8088/' }] })).toBe(
      'callguard: pbxes[1].app: Stasis application callguard at http://10.0.0.3:8088/ is already served by pbxes[0].app; one agent connects to it once\n',
    );
    expect(stderr({ pbxes: [{ ...east, pairAs: 'a' }] })).toBe(
      'callguard: pbxes[0].pairAs: only for inbound mode; in outbound mode a pair is the socket action naming both agents (socket <a>|<b> full)\n',
    );
    expect(stderr({ pbx: 'freeswitch', freeswitch: { mode: 'outbound', listen: '127.0.0.1:8096' } })).toBe(
      "callguard: console.listen: 127.0.0.1:8096 is already freeswitch's listen address (freeswitch.listen); give each its own port\n",
    );
    expect(check(dir, { pbxes: [{ ...west, pairAs: 'c' }] }, env).stderr).toContain('pbxes[0].pairAs: expected one of "a", "b", null, got "c"');
    // Given for the whole agent (the section, as --pair-as gives it), the letter goes to the switches it means something to.
    const agentWide = check(dir, { freeswitch: { pairAs: 'b' }, asterisk: { pairAs: 'b' }, pbxes: [east, west, ast] }, env);
    expect(agentWide.stderr).toBe('');
    expect(agentWide.status).toBe(0);
    // Different ports, switches and applications are fine, and so are the two applications of a pair on one Asterisk.
    const fine = check(dir, { pbxes: [east, { ...east, name: 'fs-south', listen: '127.0.0.1:8085' }, { ...west, pairAs: 'b' }, ast, { ...ast, name: 'ast-2', pairAs: 'a' }] }, env);
    expect(fine.stderr).toBe('');
    expect(fine.status).toBe(0);
  });
});
