// The console under test with the agent's screening side on the console's own store (as
// `callguard serve` runs both on one file), a FreeSWITCH simulator whose dialplan `socket`s
// to it, and a headless Chromium to sign in with: for console tests that screen calls for real.
import pino from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { DEFAULT_ACTION_SETTINGS } from '../../agent/actions/settings';
import { FreeSwitchOutboundServer } from '../../agent/pbx/freeswitch/outbound-server';
import { DEFAULT_FREESWITCH } from '../../agent/pbx/settings';
import { Screener } from '../../agent/screening/screener';
import { CallLog } from '../../agent/store/call-log';
import { SqliteDecisionStore } from '../../agent/store/decision-view';
import { FreeSwitchSim } from '../sim/freeswitch';
import type { CallResult } from '../sim/freeswitch';
import { launchChromium, startConsole } from './console';
import type { ConsoleUnderTest, ConsoleUser } from './console';
import { PATIENCE_MS, until } from './patience';

/** A screened call's row in the console's call log. */
export interface LoggedCall {
  readonly id: number;
  readonly action: string;
  readonly outcome: string;
  readonly reasons: string[];
}

export interface ConsoleWithSwitch {
  readonly server: ConsoleUnderTest;
  /** Errors thrown in any page opened by signedIn: a test expects none. */
  readonly pageErrors: string[];
  /** A fresh browser context signed in as `user`, on `path` once its heading shows. */
  signedIn(user: ConsoleUser, path: string, heading: string): Promise<Page>;
  /** A call through the simulator's `socket`, screened for real; once its outcome is logged. */
  call(caller: string, did: string, callerName: string): Promise<{ result: CallResult; logged: LoggedCall }>;
  close(): Promise<void>;
}

export async function startConsoleWithSwitch(): Promise<ConsoleWithSwitch> {
  const server = await startConsole();
  const chromium = await launchChromium();
  const logger = pino({ level: process.env.CALLGUARD_TEST_LOG ?? 'silent' });
  const log = new CallLog(server.db, { flushMs: 5 });
  const screener = new Screener(new SqliteDecisionStore(server.db), log, { country: 'US', failMode: 'open', actions: DEFAULT_ACTION_SETTINGS }, logger);
  const sim = new FreeSwitchSim({ password: 'ClueCon' });
  await sim.start();
  const switchSide = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, { screener, logger, settings: { ...DEFAULT_FREESWITCH, promptDir: '/opt/callguard/prompts' } });
  await switchSide.start();
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  return {
    server,
    pageErrors,
    async signedIn(user, path, heading) {
      const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: server.url });
      context.setDefaultTimeout(PATIENCE_MS);
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
      await page.goto(path);
      await page.getByLabel('Name', { exact: true }).fill(user.name);
      await page.getByLabel('Password', { exact: true }).fill(user.password);
      await page.getByRole('button', { name: /sign in/i }).click();
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      return page;
    },
    async call(caller, did, callerName) {
      const last = server.db.prepare('SELECT COALESCE(MAX(id), 0) FROM calls').pluck().get() as number;
      const result = await sim.placeOutboundCall('127.0.0.1', switchSide.port, { callerIdNumber: caller, callerIdName: callerName, destinationNumber: did }).done;
      let row: { id: number; action: string; outcome: string | null; reasons: string } | undefined;
      await until(() => {
        log.flush();
        row = server.db.prepare('SELECT id, action, outcome, reasons FROM calls WHERE id > ? ORDER BY id DESC LIMIT 1').get(last) as typeof row;
        return !!row?.outcome;
      }, 'the call logged with its outcome');
      return { result, logged: { id: row!.id, action: row!.action, outcome: row!.outcome!, reasons: JSON.parse(row!.reasons) as string[] } };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => {});
      await chromium.close();
      await switchSide.stop(200);
      await sim.close();
      log.close();
      await server.stop();
    },
  };
}
