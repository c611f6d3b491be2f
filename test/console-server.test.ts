// `callguard console` as an operator runs it: a real process on a real port, users and
// tokens made with the CLI, signing in over HTTP with the session cookie and its CSRF
// token, a bearer token for machines, HTTPS when given a certificate, and a refusal to
// listen off loopback in clear.
import { execFileSync, spawn } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port';
import { PATIENCE_MS, until } from './helpers/patience';
import { binPath, repoRoot, runCli } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): TempDir {
  const dir = makeTempDir('callguard-console-');
  cleanups.push(() => dir.remove());
  return dir;
}

function startConsole(args: string[]) {
  const child = spawn(process.execPath, [binPath, ...args], { cwd: repoRoot, env: { ...process.env, CALLGUARD_DB: '', CALLGUARD_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  return { child, output: () => output, exited };
}

describe('callguard console', () => {
  it('serves the REST API: a user signs in with the CLI-made password, a token works, changes land in the same store', async () => {
    const dir = tempDir();
    const db = dir.file('callguard.db');
    expect(runCli(['--db', db, 'tenants', 'add', 'acme']).status).toBe(0);
    expect(runCli(['--db', db, 'users', 'add', 'alice', '--role', 'manager', '--tenant', 'acme'], { input: 'a long enough password\n' }).status).toBe(0);
    const token = runCli(['--db', db, 'tokens', 'add', 'crm', '--role', 'admin']).stdout.trim();
    const port = await freePort();
    const server = startConsole(['--db', db, 'console', '--listen', `127.0.0.1:${port}`]);
    await until(() => /console listening/.test(server.output()), 'the console to listen');
    const base = `http://127.0.0.1:${port}`;

    const wrong = await fetch(`${base}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'alice', password: 'not her password' }) });
    expect(wrong.status).toBe(401);
    const signIn = await fetch(`${base}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'alice', password: 'a long enough password' }) });
    expect(signIn.status).toBe(200);
    const setCookie = signIn.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^callguard_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(';')[0]!;
    const { csrfToken } = (await signIn.json()) as { csrfToken: string };
    const add = (headers: Record<string, string>) =>
      fetch(`${base}/v1/rules`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ patterns: '404*', action: 'block', scope: 'tenant:acme' }) });
    expect((await add({ cookie })).status).toBe(403);
    expect((await add({ cookie, 'x-csrf-token': csrfToken })).status).toBe(201);
    expect(runCli(['--db', db, 'rules', 'list', '--json']).stdout).toContain('"scope":"tenant:acme"');

    const asToken = await fetch(`${base}/v1/audit`, { headers: { authorization: `Bearer ${token}` } });
    expect(asToken.status).toBe(200);
    expect(((await asToken.json()) as { changes: { actor: string; entity: string }[] }).changes.find((change) => change.entity === 'rule')).toMatchObject({ actor: 'user:alice' });
    expect((await fetch(`${base}/v1/audit`, { headers: { authorization: 'Bearer cg_revoked' } })).status).toBe(401);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 2 * PATIENCE_MS);

  it('refuses to listen off loopback in clear, and serves HTTPS with a certificate', async () => {
    const dir = tempDir();
    const db = dir.file('callguard.db');
    const refused = runCli(['--db', db, 'console', '--listen', '0.0.0.0:8096']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/passwords in clear on 0\.0\.0\.0:8096: give it TLS/);

    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', dir.file('key.pem'), '-out', dir.file('cert.pem')], { stdio: 'ignore' });
    const port = await freePort();
    const server = startConsole(['--db', db, 'console', '--listen', `127.0.0.1:${port}`, '--tls-cert', dir.file('cert.pem'), '--tls-key', dir.file('key.pem')]);
    await until(() => /console listening/.test(server.output()), 'the console to listen');
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/v1/me', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
    const onlyCert = runCli(['--db', db, 'console', '--listen', `127.0.0.1:${await freePort()}`, '--tls-cert', dir.file('cert.pem')]);
    expect(onlyCert).toMatchObject({ status: 2, stderr: expect.stringMatching(/needs both files/) });
  }, 2 * PATIENCE_MS);
});
