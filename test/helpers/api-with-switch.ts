// The REST API on a screening world's store, beside a FreeSWITCH simulator whose dialplan
// `socket`s to that world's screener: for API tests that also screen calls for real.
import pino from 'pino';
import { buildApi } from '../../agent/api/server';
import type { Api } from '../../agent/api/server';
import { sqliteBackends } from '../../agent/operations/store-backends';
import { FreeSwitchOutboundServer } from '../../agent/pbx/freeswitch/outbound-server';
import type { FreeSwitchSettings } from '../../agent/pbx/settings';
import { ReputationClient } from '../../agent/screening/reputation';
import { FreeSwitchSim } from '../sim/freeswitch';
import { MemoryAuthenticator, as } from './api';
import type { ScreeningWorld } from './screening';

export interface ApiWithSwitch {
  readonly api: Api;
  readonly sim: FreeSwitchSim;
  readonly switchSide: FreeSwitchOutboundServer;
  /** A request as the holder of `token` (none: anonymous), with its status and JSON body. */
  call(token: string | null, method: 'GET' | 'PUT', url: string, payload?: Record<string, unknown>): Promise<{ status: number; body: any }>;
  /** Stops the switch side, the simulator and the API (the world is the caller's to close). */
  close(): Promise<void>;
}

export async function apiWithSwitch(world: ScreeningWorld, settings: FreeSwitchSettings): Promise<ApiWithSwitch> {
  const api = await buildApi({ store: sqliteBackends(world.db), country: 'US', authenticator: new MemoryAuthenticator(), reputation: new ReputationClient(), logger: pino({ level: 'silent' }), secure: false });
  const sim = new FreeSwitchSim({ password: 'ClueCon' });
  await sim.start();
  const switchSide = new FreeSwitchOutboundServer({ host: '127.0.0.1', port: 0 }, { screener: world.screener, logger: world.logger, settings });
  await switchSide.start();
  return {
    api,
    sim,
    switchSide,
    async call(token, method, url, payload) {
      const response = await api.inject({ method, url, headers: token ? as(token) : {}, ...(payload === undefined ? {} : { payload }) });
      return { status: response.statusCode, body: response.body ? response.json() : undefined };
    },
    async close() {
      await switchSide.stop(200);
      await sim.close();
      await api.close();
    },
  };
}
