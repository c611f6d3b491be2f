import pino from 'pino';
import { sqliteBackends } from '../../agent/operations/store-backends';
import { buildApi } from '../../agent/api/server';
import { ReputationClient } from '../../agent/screening/reputation';
import { openDatabase } from '../../agent/store/database';
import { MemoryAuthenticator, as } from '../helpers/api';
import { benchNumber, didOf } from './dataset';
import { spread } from './measure';
import type { Row } from './measure';

const ROUNDS = 300;

/** The cursor of a page of global exact rules that ends at rule `id`, as GET /v1/rules/winning-order hands it out. */
const deepInWinningOrder = (id: number) => Buffer.from(JSON.stringify({ scope: 'global', group: 0, span: 0, id })).toString('base64url');

/**
 * The REST API's server time (Fastify's request injection: routing, validation, the
 * query and the JSON answer, no socket) over the benchmark's 1,000,000 rules and
 * 1,000,000 call-log rows, beside /v1/me, which touches no table.
 */
export async function benchApi(dbPath: string): Promise<Row[]> {
  const db = openDatabase(dbPath);
  const api = await buildApi({ store: sqliteBackends(db), country: 'US', authenticator: new MemoryAuthenticator(), reputation: new ReputationClient(), logger: pino({ level: 'silent' }), secure: false });
  const headers = as('cg_admin');
  const timed = async (url: (i: number) => string, rounds = ROUNDS): Promise<number> => {
    const samples: number[] = [];
    for (let i = 0; i < rounds + 20; i++) {
      const start = process.hrtime.bigint();
      const response = await api.inject({ method: 'GET', url: url(i), headers });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (response.statusCode !== 200) throw new Error(`${url(i)}: ${response.statusCode} ${response.body.slice(0, 200)}`);
      if (i >= 20) samples.push(ms); // the first ones warm the JIT and the page cache
    }
    return spread(samples).p99;
  };
  try {
    const me = await timed(() => '/v1/me');
    const firstPage = (await api.inject({ method: 'GET', url: '/v1/calls?limit=50', headers })).json() as { next: string };
    const rows: [string, number][] = [
      ['rules list, first page (100)', await timed(() => '/v1/rules?limit=100')],
      ['rules list, a page deep in the million', await timed((i) => `/v1/rules?limit=100&after=${500_000 + i * 997}`)],
      ['rules in winning order, first page (100)', await timed(() => '/v1/rules/winning-order?limit=100')],
      ['rules in winning order, a page deep in the million', await timed((i) => `/v1/rules/winning-order?limit=100&after=${deepInWinningOrder(500_000 + i * 997)}`)],
      ['Activity, first page (50)', await timed(() => '/v1/calls?limit=50')],
      ['Activity, next page by cursor', await timed(() => `/v1/calls?limit=50&before=${firstPage.next}`)],
      ['Activity filtered by DID and outcome', await timed((i) => `/v1/calls?limit=50&did=${encodeURIComponent(didOf(i % 1000))}&outcome=continued`)],
      ['timeline of one caller', await timed((i) => `/v1/calls?limit=100&caller=${encodeURIComponent(benchNumber((i * 7) % 1_000_000))}`)],
    ];
    const counted: [string, number][] = [
      ['stats, last 7 days', await timed(() => '/v1/stats?since=7d', 30)],
      ['calls per hour, last 7 days (the chart)', await timed(() => '/v1/stats/hourly?hours=168', 30)],
    ];
    return [
      ...rows.map(([what, p99]) => ({ metric: `API ${what}, p99 server time`, measured: `${p99.toFixed(2)} ms`, target: '≤ 50 ms', baseline: `/v1/me ${me.toFixed(2)} ms`, ok: p99 <= 50 })),
      ...counted.map(([what, p99]) => ({ metric: `API ${what}, p99 server time`, measured: `${p99.toFixed(1)} ms`, target: '≤ 200 ms', baseline: `/v1/me ${me.toFixed(2)} ms`, ok: p99 <= 200 })),
    ];
  } finally {
    await api.close();
    db.close();
  }
}
