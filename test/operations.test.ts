import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../agent/config/load';
import { parsePattern } from '../agent/engine/patterns';
import { createLogger } from '../agent/log/logger';
import { openDatabase } from '../agent/store/database';
import { RuleStore } from '../agent/store/rules';
import { freePort } from './helpers/free-port';
import { PATIENCE_MS, until } from './helpers/patience';
import { binPath, cliFor, runCli } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';
import { FreeSwitchSim } from './sim/freeswitch';

let dir: TempDir;
const cleanups: (() => unknown)[] = [];
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  dir.remove();
});

const SECRET = 'Sup3r-Secret-Passw0rd-42';


/** `callguard serve` as a child process, its stderr (pino JSON) collected. */
function startServe(args: string[], env: Record<string, string> = {}): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [binPath, ...args], { env: { ...process.env, CALLGUARD_DB: '', CALLGUARD_CONFIG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

describe('configuration', () => {
  it('takes flags over environment over the file over the defaults', () => {
    const file = dir.file('config.json');
    writeFileSync(file, JSON.stringify({ pbx: 'freeswitch', freeswitch: { mode: 'inbound', listen: '127.0.0.1:9001', esl: '127.0.0.1:9021', eslPassword: 'from-file' }, challenge: { tries: 3 } }));
    const config = loadConfig(file, { CALLGUARD_ESL_PASSWORD: 'from-env', CALLGUARD_LOG_LEVEL: 'warn' }, { 'freeswitch.listen': '127.0.0.1:9002' });
    expect(config.freeswitch).toMatchObject({ mode: 'inbound', listen: '127.0.0.1:9002', esl: '127.0.0.1:9021', eslPassword: 'from-env', promptDir: '/usr/share/freeswitch/sounds/callguard' });
    expect(config).toMatchObject({ logLevel: 'warn', failMode: 'open', challenge: { tries: 3, timeoutMs: 5000, digit: '1' } });
    expect(() => loadConfig(file, {}, { 'challenge.tries': 9 })).toThrow(/command line: challenge.tries: expected a whole number from 1 to 5/);
    expect(() => loadConfig(file, { CALLGUARD_COUNTRY: 'XX' }, {})).toThrow(/environment: country/);
  });

  it('config check names each bad key and exits 2; a good file prints the settings with secrets hidden', () => {
    const bad = dir.file('bad.json');
    writeFileSync(bad, JSON.stringify({ pbx: 'pbxx', freeswitch: { listen: 'nowhere', colour: 'red' }, http: { token: 'short' }, extra: true }));
    const result = runCli(['config', 'check', bad]);
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      `callguard: ${bad}: pbx: expected one of "freeswitch", "asterisk", null, got "pbxx"`,
      `callguard: ${bad}: freeswitch.listen: expected host:port such as 127.0.0.1:8021, got "nowhere"`,
      `callguard: ${bad}: freeswitch.colour: not a setting`,
      `callguard: ${bad}: http.token: expected at least 16 printable characters, no spaces, got "short"`,
      `callguard: ${bad}: extra: not a setting`,
    ]);
    const good = dir.file('good.json');
    writeFileSync(good, JSON.stringify({ pbx: 'asterisk', asterisk: { password: SECRET } }));
    const ok = runCli(['config', 'check', good]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('"password": "[redacted]"');
    expect(ok.stdout).not.toContain(SECRET);
    expect(runCli(['config', 'check', dir.file('missing.json')]).status).toBe(2);
  });

  it('never writes a secret to the log', () => {
    let written = '';
    const sink = new Writable({ write: (chunk, _encoding, done) => ((written += String(chunk)), done()) });
    const logger = createLogger('info', sink as never);
    logger.info({ config: { freeswitch: { eslPassword: SECRET }, asterisk: { password: SECRET }, http: { token: SECRET } } }, 'starting');
    logger.info({ eslPassword: SECRET, password: SECRET, token: SECRET }, 'flat');
    expect(written).toContain('[redacted]');
    expect(written).not.toContain(SECRET);
  });
});

describe('serve as a service', () => {
  it('logs no secret, and on SIGTERM lets a call in progress finish, takes no new one, and exits 0', async () => {
    const port = await freePort();
    const db = dir.file('serve.db');
    new RuleStore(openDatabase(db)).add([{ ...parsePattern('404*', 'US'), scope: 'global', action: 'block', target: null, sms: false, note: null, list: null, expiresAt: null }]);
    const config = dir.file('serve.json');
    writeFileSync(config, JSON.stringify({ freeswitch: { eslPassword: SECRET } }));
    const serve = startServe(['--db', db, '--config', config, 'serve', '--no-console', '--pbx', 'freeswitch', '--mode', 'outbound', '--listen', `127.0.0.1:${port}`], { CALLGUARD_ARI_PASSWORD: SECRET });
    await until(() => serve.stderr().includes('listening for FreeSWITCH outbound sockets') || serve.child.exitCode !== null, 'the agent to listen');
    expect(serve.stderr()).toContain('listening for FreeSWITCH outbound sockets');
    const sim = new FreeSwitchSim({ timeScale: 1 });
    // The block's announcement plays until the test lets it (then for its 30 ms): the call is in progress for
    // certain when the agent is told to stop, and still when the late call comes, however slow the machine.
    const playback = sim.app('playback')!;
    let endAnnouncement!: () => void;
    const announcementMayEnd = new Promise<void>((resolve) => (endAnnouncement = resolve));
    sim.defineApp('playback', async (context) => {
      await announcementMayEnd;
      await playback(context);
    });
    try {
      const inProgress = sim.placeOutboundCall('127.0.0.1', port, { callerIdNumber: '+14045551234', destinationNumber: '15551230000', playbackMs: 30 });
      await until(() => inProgress.apps.some((app) => app.app === 'playback'), 'the announcement to start');
      serve.child.kill('SIGTERM');
      await until(() => serve.stderr().includes('stopping: no new calls'), 'the agent to stop taking calls');
      expect(serve.stderr()).toMatch(/"inProgress":1,"msg":"stopping: no new calls/);
      const late = await sim.placeOutboundCall('127.0.0.1', port, { callerIdNumber: '+14045559999', destinationNumber: '15551230000' }).done;
      expect(late.outcome).toBe('continued'); // nothing listens any more: the dialplan goes on
      expect(inProgress.isDown).toBe(false); // the call in progress is not cut off
      endAnnouncement();
      const finished = await inProgress.done;
      expect(finished).toMatchObject({ outcome: 'hungup', hangupCause: 'CALL_REJECTED' });
      expect(await serve.exited).toBe(0);
    } finally {
      endAnnouncement();
      serve.child.kill('SIGKILL');
      await sim.close();
    }
    expect(serve.stderr()).toContain('[redacted]');
    expect(serve.stderr()).not.toContain(SECRET);
    const rows = new BetterSqlite3(db, { readonly: true }).prepare('SELECT action, outcome FROM calls').all();
    expect(rows).toEqual([{ action: 'block', outcome: 'rejected' }]);
  });

  it('a wrong event-socket password exits 1 with a clear line, not a retry loop', async () => {
    const sim = new FreeSwitchSim({ password: 'ClueCon' });
    const port = await sim.start();
    try {
      const serve = startServe(['--db', dir.file('pw.db'), 'serve', '--no-console', '--pbx', 'freeswitch', '--mode', 'inbound', '--esl', `127.0.0.1:${port}`], { CALLGUARD_ESL_PASSWORD: SECRET });
      expect(await serve.exited).toBe(1);
      expect(serve.stderr()).toMatch(/callguard: FreeSWITCH at 127\.0\.0\.1:\d+ refused the event-socket password/);
      expect(serve.stderr()).not.toContain(SECRET);
    } finally {
      await sim.close();
    }
  });

  it('refuses an unknown --mode or PBX with exit 2', () => {
    expect(runCli(['--db', dir.file('m.db'), 'serve', '--pbx', 'freeswitch', '--mode', 'sideways'])).toMatchObject({
      status: 2,
      stderr: 'callguard: command line: freeswitch.mode: expected one of "outbound", "inbound", null, got "sideways"\n',
    });
    expect(runCli(['--db', dir.file('m.db'), 'serve', '--pbx', 'freeswitch'])).toMatchObject({ status: 2, stderr: 'callguard: unknown mode "": expected --mode outbound or --mode inbound\n' });
    expect(runCli(['--db', dir.file('m.db'), 'serve', '--pbx', 'yate']).status).toBe(2);
  });
});

describe('demo', () => {
  it('places a dozen calls through the simulator and says what each caller heard and why', () => {
    const result = runCli(['demo'], { timeoutMs: PATIENCE_MS });
    expect(result.status, result.stderr).toBe(0);
    const decided = [...result.stdout.matchAll(/^ {4}decided: (.+)$/gm)].map((match) => match[1]);
    expect(decided).toEqual([
      'allow, outcome continued',
      'block, outcome rejected',
      'challenge, outcome passed',
      'challenge, outcome hungup',
      'busy, outcome rejected',
      'disconnected, outcome rejected',
      'voicemail, outcome voicemail',
      'forward, outcome answered',
      'challenge, outcome failed',
      'allow (flagged), outcome continued',
      'block, outcome rejected',
      'block, outcome rejected',
    ]);
    expect(result.stdout).toContain('heard:   early media, three rising tones, "the number you have dialed is not in service", cleared: UNALLOCATED_NUMBER (1)');
    expect(result.stdout).toContain('heard:   rings through as "SPAM? Demo Caller", then its normal route');
    expect(result.stdout).toMatch(/stats: 12 calls, 7 blocked, 1 flagged, 2 legitimate, 3 challenged\n$/);
  });
});

describe('backup', () => {
  it('takes a consistent, owner-only copy while another process keeps writing', async () => {
    const db = dir.file('live.db');
    const cli = cliFor(db);
    cli('rules', 'import', writeNumbers(dir.file('n.csv'), 20_000), '--action', 'block');
    // Writes 50 rows every 2 ms, printing its count after each batch, until its stdin closes; the backup runs
    // once it has written, and the writer stops only once it has written more than the copy holds.
    const writer = spawn(process.execPath, [
      '-e',
      `const D=require(${JSON.stringify(require.resolve('better-sqlite3'))}); const d=new D(${JSON.stringify(db)}); d.pragma('busy_timeout=${PATIENCE_MS}');
       const s=d.prepare("INSERT INTO calls (uid, at, kind, source, tenant, action, reasons) VALUES (?, ?, 'call', 'test', 'default', 'allow', '[]')");
       let i=0; const t=setInterval(()=>{ for(let k=0;k<50;k++) s.run('w'+(i++), Date.now()); process.stdout.write(i+'\\n'); }, 2);
       process.stdin.resume(); process.stdin.on('end', ()=>{ clearInterval(t); d.close(); });`,
    ]);
    let progress = '';
    writer.stdout.on('data', (chunk: Buffer) => (progress += chunk.toString()));
    const written = () => Number(/(\d+)\n$/.exec(progress)?.[1] ?? 0);
    const writerExited = new Promise<number | null>((resolve) => writer.once('exit', (code) => resolve(code)));
    cleanups.push(() => writer.exitCode === null && writer.kill('SIGKILL'));
    await until(() => written() > 0, 'the writer to write');
    const copy = dir.file('copy.db');
    const result = cli('backup', copy);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^backed up .* \(20000 rules, \d+ call-log rows; integrity ok\)\n$/);
    const copied = Number(/(\d+) call-log rows/.exec(result.stdout)![1]);
    expect(copied).toBeGreaterThan(0); // the writer was writing before the copy…
    await until(() => written() > copied, 'the writer to write past the copy'); // …and after it
    writer.stdin.end();
    expect(await writerExited).toBe(0);
    const opened = new BetterSqlite3(copy, { readonly: true });
    expect(opened.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(opened.prepare('SELECT COUNT(*) FROM rules').pluck().get()).toBe(20_000);
    opened.close();
    expect(statSync(copy).mode & 0o077).toBe(0);
    expect(readdirSync(dir.dir).filter((name) => name.startsWith('copy.db'))).toEqual(['copy.db']); // no -wal, -shm or partial file left
    expect(cli('backup', copy).status).toBe(2); // exists: needs --force
    expect(cli('backup', copy, '--force').status).toBe(0);
  });
});

function writeNumbers(path: string, count: number): string {
  const lines = Array.from({ length: count }, (_, i) => `+1404${String(2000000 + i).padStart(7, '0')}`);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}
