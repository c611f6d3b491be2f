/**
 * For the console's end-to-end tests: the web console on a loopback port with a fresh
 * store, and a real headless Chromium to drive it.
 *
 * `startConsole()` runs it in-process for now: the REST API (`buildApi`) with the console's
 * static files (`consoleStatic()`) and the store-backed authenticator `callguard console`
 * uses, with the users added to the store as `callguard users add` does (the company
 * picker remembers a choice per stored user, so in-memory users would not do). The tests only use
 * what it returns (a base URL, the store to log calls into and read back, the users'
 * names and passwords), so it can become a real `callguard serve` process — users made
 * with `callguard users add`, calls placed on the FreeSWITCH simulator — without changing
 * them.
 */
import { sqliteBackends } from '../../agent/operations/store-backends';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { buildApi } from '../../agent/api/server';
import type { ApiDeps } from '../../agent/api/server';
import { StoreAuthenticator } from '../../agent/api/store-authenticator';
import { consoleStatic } from '../../agent/console/static';
import type { E164 } from '../../agent/engine/types';
import { ReputationClient } from '../../agent/screening/reputation';
import { CALL_SQL } from '../../agent/store/call-log';
import { openDatabase } from '../../agent/store/database';
import { TenantStore } from '../../agent/store/tenants';
import { UserStore } from '../../agent/store/users';
import { makeTempDir } from './temp-db';

/** Someone who signs in to the console. */
export interface ConsoleUser {
  readonly name: string;
  readonly password: string;
  readonly role: 'admin' | 'manager' | 'viewer';
  /** The companies granted; none for an administrator (every company). */
  readonly tenants?: readonly string[];
}

export const MANAGER: ConsoleUser = { name: 'alice', password: 'correct horse battery staple', role: 'manager', tenants: ['acme'] };
export const VIEWER: ConsoleUser = { name: 'victor', password: 'viewer password, long enough', role: 'viewer', tenants: ['acme'] };
export const ADMIN: ConsoleUser = { name: 'ada', password: 'administrator password here', role: 'admin' };

/** The companies and DIDs every console test starts with. */
export const TENANTS = { acme: ['+14045550100', '+14045550101'], globex: ['+13125550100'] } as const;

export interface LoggedCall {
  readonly tenant: string;
  readonly did: string;
  readonly caller: string | null;
  readonly name?: string;
  /** The switch's name (default `freeswitch`, as a single-switch agent logs it). */
  readonly pbx?: string;
  readonly action?: string;
  readonly outcome?: string;
  readonly at?: number;
  readonly kind?: 'call' | 'sms';
  readonly ip?: string;
  readonly ruleId?: number;
  readonly score?: number;
  readonly flagged?: boolean;
  readonly reasons?: readonly string[];
}

export interface ConsoleUnderTest {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The store the console serves: for logging calls and checking what a page changed. */
  readonly db: Database;
  /** A screened call as the agent would have logged it. */
  logCall(call: LoggedCall): void;
  stop(): Promise<void>;
}

/** `health`: how the agent beside the console found each reputation source (as `serve` hands it); absent, the console runs alone. */
export async function startConsole(users: readonly ConsoleUser[] = [MANAGER, VIEWER, ADMIN], health?: ApiDeps['reputationHealth']): Promise<ConsoleUnderTest> {
  const dir = makeTempDir('callguard-console-e2e-');
  const db = openDatabase(dir.file('callguard.db'));
  const tenants = new TenantStore(db, 'test');
  for (const [tenant, dids] of Object.entries(TENANTS)) {
    tenants.add(tenant);
    for (const did of dids) tenants.addDid(did as E164, tenant);
  }
  const accounts = new UserStore(db, 'test');
  for (const user of users) await accounts.add(user.name, user.role, user.tenants ?? [], user.password);
  const api = await buildApi({ store: sqliteBackends(db), country: 'US', authenticator: new StoreAuthenticator(sqliteBackends(db).as('console').users), reputation: new ReputationClient(), logger: pino({ level: 'silent' }), secure: false, reputationHealth: health });
  await api.register(consoleStatic());
  await api.listen({ host: '127.0.0.1', port: 0 });
  const address = api.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const insert = db.prepare(CALL_SQL[0]);
  return {
    url: `http://127.0.0.1:${port}`,
    db,
    logCall(call) {
      insert.run(
        randomBytes(8).toString('hex'),
        call.at ?? Date.now(),
        call.kind ?? 'call',
        'freeswitch',
        call.pbx ?? 'freeswitch',
        null,
        call.tenant,
        call.did,
        call.caller,
        call.caller,
        call.name ?? null,
        call.ip ?? null,
        null,
        null,
        call.action ?? 'allow',
        null,
        call.ruleId ?? null,
        null,
        call.score ?? null,
        call.flagged ? 1 : 0,
        JSON.stringify(call.reasons ?? ['Step 1: no rule for this caller', 'Step 2: allowed']),
        10,
      );
      if (call.outcome) db.prepare('UPDATE calls SET outcome = ? WHERE id = (SELECT MAX(id) FROM calls)').run(call.outcome);
    },
    async stop() {
      await api.close();
      db.close();
      dir.remove();
    },
  };
}

/** Debian's Chromium, the one `.ci/run` installs with apt-get. */
export const CHROMIUM = process.env.CALLGUARD_CHROMIUM ?? '/usr/bin/chromium';

/**
 * A headless Chromium with nothing of its own going on (no sync, no component updates, no
 * background requests: the machine has no network beyond loopback) and a fresh profile
 * (Playwright gives each launch a new user-data dir of its own and removes it on close).
 */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium), as .ci/run does, or set CALLGUARD_CHROMIUM`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}
