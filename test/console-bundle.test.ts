// The console's built front end (npm run build → dist/console/): one JS and one CSS file with
// content hashes, within the 200 kB gzipped budget, and served by consoleStatic() the way
// browsers need it: index.html for every page address (never cached, with a strict
// Content-Security-Policy), the assets cached for a year, and nothing of it in the API's
// OpenAPI document.
import { sqliteBackends } from '../agent/operations/store-backends';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../agent/api/server';
import type { Api } from '../agent/api/server';
import { CONSOLE_DIR, CONSOLE_PAGES, consoleStatic } from '../agent/console/static';
import { ReputationClient } from '../agent/screening/reputation';
import { openDatabase } from '../agent/store/database';
import { packageRoot } from '../agent/store/package-root';
import { MemoryAuthenticator } from './helpers/api';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';

const BUDGET_BYTES = 200 * 1024;
const dir = join(packageRoot(), CONSOLE_DIR);

function built(): { index: string; assets: string[] } {
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`${dir}/index.html is missing: run npm run build first (it runs the console build after tsc)`);
  const index = readFileSync(join(dir, 'index.html'), 'utf8');
  const assets = [...index.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((match) => match[1]!);
  return { index, assets };
}

describe('the built console', () => {
  it('is one hashed JS file and one hashed CSS file, named by index.html, with no inline script or style', () => {
    const { index, assets } = built();
    expect(assets.filter((file) => file.endsWith('.js'))).toHaveLength(1);
    expect(assets.filter((file) => file.endsWith('.css'))).toHaveLength(1);
    for (const file of assets) expect(file).toMatch(/^main-[A-Z0-9]{8}\.(js|css)$/);
    expect(readdirSync(join(dir, 'assets')).filter((file) => !/\.(br|gz)$/.test(file)).sort()).toEqual([...assets].sort());
    expect(index).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(index).not.toMatch(/<style|\sstyle=/);
  });

  it(`ships at most ${BUDGET_BYTES / 1024} kB of JS and CSS gzipped`, () => {
    const { assets } = built();
    const sizes = Object.fromEntries(assets.map((file) => [file, gzipSync(readFileSync(join(dir, 'assets', file))).length]));
    const total = Object.values(sizes).reduce((sum, size) => sum + size, 0);
    console.log(`console bundle gzipped: ${Object.entries(sizes).map(([file, size]) => `${file} ${(size / 1024).toFixed(1)} kB`).join(', ')}; total ${(total / 1024).toFixed(1)} kB of ${BUDGET_BYTES / 1024} kB`);
    expect(total).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});

describe('consoleStatic()', () => {
  let temp: TempDir;
  let api: Api;
  beforeAll(async () => {
    temp = makeTempDir('callguard-console-static-');
    const db = openDatabase(temp.file('callguard.db'));
    api = await buildApi({ store: sqliteBackends(db), country: 'US', authenticator: new MemoryAuthenticator(), reputation: new ReputationClient(), logger: pino({ level: 'silent' }), secure: false });
    await api.register(consoleStatic());
    api.addHook('onClose', async () => db.close());
  });
  afterAll(async () => {
    await api.close();
    temp.remove();
  });

  it('answers index.html for every page address, uncached, under a strict Content-Security-Policy', async () => {
    const { index } = built();
    for (const path of CONSOLE_PAGES.map((page) => page.replace(':caller', '%2B14045551234'))) {
      const response = await api.inject({ method: 'GET', url: path });
      expect(response.statusCode, path).toBe(200);
      expect(response.body).toBe(index);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toMatch(/script-src 'self';/);
      expect(response.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serves the hashed assets cached for a year, compressed for browsers that accept it', async () => {
    const { assets } = built();
    for (const file of assets) {
      const plain = await api.inject({ method: 'GET', url: `/assets/${file}` });
      expect(plain.statusCode).toBe(200);
      expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(plain.headers['content-type']).toMatch(file.endsWith('.js') ? /javascript/ : /text\/css/);
      expect(plain.body).toBe(readFileSync(join(dir, 'assets', file), 'utf8'));
      const compressed = await api.inject({ method: 'GET', url: `/assets/${file}`, headers: { 'accept-encoding': 'br, gzip' } });
      expect(compressed.headers['content-encoding']).toBe('br');
    }
    expect((await api.inject({ method: 'GET', url: '/assets/nope.js' })).statusCode).toBe(404);
    expect((await api.inject({ method: 'GET', url: '/assets/../index.html' })).statusCode).not.toBe(200);
  });

  it('leaves the API as it was: its routes, its 401s, and an OpenAPI document without the pages', async () => {
    expect((await api.inject({ method: 'GET', url: '/v1/me' })).statusCode).toBe(401);
    expect((await api.inject({ method: 'GET', url: '/v1/nope' })).statusCode).toBe(404);
    const document = (await api.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths).every((path) => path.startsWith('/v1/'))).toBe(true);
  });

  it('says the console is not built, instead of failing, when dist/console is missing', async () => {
    const empty = makeTempDir('callguard-console-unbuilt-');
    const app = Fastify({ logger: false });
    await app.register(consoleStatic({ dir: empty.dir }));
    const response = await app.inject({ method: 'GET', url: '/activity' });
    expect(response.statusCode).toBe(503);
    expect(response.body).toMatch(/not built: run npm run build/);
    await app.close();
    empty.remove();
  });
});
