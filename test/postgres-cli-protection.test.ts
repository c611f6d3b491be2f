// `callguard protection` and `callguard carriers` on a fleet's PostgreSQL, run as an operator
// runs them: each command prints what it prints on a SQLite file, word for word, with the
// same exit code; the rows and audit entries land in PostgreSQL, and no SQLite file is made.
import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratedPostgres } from './helpers/postgres-agent';
import { assertBuilt, describeRun, runCli } from './helpers/run-cli';
import type { CliResult } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';

const dir = makeTempDir('callguard-cli-protection-');
const cleanups: (() => unknown)[] = [];

beforeAll(() => assertBuilt());
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  dir.remove();
});

/** The CLI with no store settings of the caller's own. */
const cli = (args: string[]): CliResult => runCli(args, { env: { CALLGUARD_STORE: undefined, CALLGUARD_CONFIG: undefined } });

/** NANPA's tab-separated layout: 12,000 NPA-NXX blocks, more than one batch of the PostgreSQL import. */
function nanpaFile(): string {
  const lines = ['State\tNPA-NXX\tOCN\tCompany\tRatecenter'];
  for (let npa = 201; npa <= 215; npa++) for (let nxx = 200; nxx <= 999; nxx++) lines.push(`GA\t${npa}-${nxx}\t${npa}${nxx}\t${nxx % 2 ? 'Robo Telecom' : 'Bandwidth'}\tATLANTA`);
  const file = dir.file('nanpa.txt');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('protection and carriers from the command line on a PostgreSQL store', () => {
  it('print what they print on a SQLite file, keep their rows and audit entries in PostgreSQL, and write no SQLite file', async () => {
    const { url, pool } = await migratedPostgres(cleanups);
    const never = dir.file('never.db');
    const onPostgres = (...args: string[]) => cli(['--db', never, '--store', url, ...args]);
    const onSqlite = (...args: string[]) => cli(['--db', dir.file('plain.db'), ...args]);
    const nanpa = nanpaFile();
    const csv = dir.file('prefixes.csv');
    writeFileSync(csv, 'prefix,carrier\n404-555,Robo Telecom\n+1212,Verizon\n');

    /** Runs one command on both stores: the same exit code, stdout and stderr. */
    const both = (status: number, ...args: string[]): CliResult => {
      const [sqlite, postgres] = [onSqlite(...args), onPostgres(...args)];
      expect(postgres.status, describeRun(postgres)).toBe(status);
      expect({ status: postgres.status, stdout: postgres.stdout, stderr: postgres.stderr }, describeRun(postgres)).toEqual({ status: sqlite.status, stdout: sqlite.stdout, stderr: sqlite.stderr });
      return postgres;
    };

    both(0, 'tenants', 'add', 'acme');
    expect(both(0, 'protection', 'on', '--threshold', '60').stdout).toBe('global: on, threshold 60, flag at 40, action block\n');
    expect(both(0, 'protection', 'off', '--tenant', 'acme', '--action', 'challenge').stdout).toBe('tenant:acme: off, threshold 60, flag at 40, action challenge\n');
    expect(both(2, 'protection', 'on', '--tenant', 'nobody').stderr).toBe(`callguard: unknown tenant "nobody": add it first with 'callguard tenants add nobody'\n`);
    expect(both(2, 'protection', 'on', '--threshold', '50', '--flag-threshold', '51').stderr).toMatch(/flag threshold 51 is above the threshold 50/);
    expect(both(0, 'protection', 'tune', 'neighbor', '30').stdout).toBe('neighbor = 30\n');
    expect(both(2, 'protection', 'tune', 'no_such', '1').stderr).toMatch(/^callguard: unknown score setting "no_such"/);
    const shown = both(0, 'protection', 'show').stdout;
    expect(shown).toMatch(/^TENANT +PROTECTION +THRESHOLD +FLAG AT +ACTION +FROM\nacme +off +60 +40 +challenge +tenant:acme\ndefault +on +60 +40 +block +global\n/);
    expect(shown).toMatch(/\nneighbor +30 +25\n/);
    expect(JSON.parse(both(0, 'protection', 'show', '--json').stdout)).toMatchObject({ tenants: [{ tenant: 'acme', enabled: false }, { tenant: 'default', enabled: true }], score: { neighbor: 30 } });

    expect(both(0, 'carriers', 'add', 'Robo Telecom', '--scope', 'tenant:acme').stdout).toBe('added carrier rule #1 "robo telecom" (tenant:acme)\n');
    expect(both(0, 'carriers', 'add', 'Bandwidth').stdout).toBe('added carrier rule #2 "bandwidth" (global)\n');
    expect(both(2, 'carriers', 'add', 'BANDWIDTH').stderr).toBe('callguard: carrier rule "bandwidth" already exists in global\n');
    expect(both(2, 'carriers', 'add', 'x').stderr).toMatch(/^callguard: bad carrier pattern "x"/);
    expect(both(2, 'carriers', 'add', 'Bandwidth', '--scope', 'tenant:nobody').stderr).toMatch(/^callguard: unknown tenant "nobody"/);
    expect(both(0, 'carriers', 'add', 'VoIP Innovations', '--scope', 'did:404-555-0000').stdout).toBe('added carrier rule #3 "voip innovations" (did:+14045550000)\n');
    expect(both(0, 'carriers', 'list').stdout).toMatch(/^ID +SCOPE +PATTERN\n3 +did:\+14045550000 +voip innovations\n2 +global +bandwidth\n1 +tenant:acme +robo telecom\n$/);
    expect(JSON.parse(both(0, 'carriers', 'list', '--tenant', 'acme', '--json').stdout)).toEqual([
      { id: 2, scope: 'global', pattern: 'bandwidth' },
      { id: 1, scope: 'tenant:acme', pattern: 'robo telecom' },
    ]);
    expect(both(0, 'carriers', 'remove', 'bandwidth').stdout).toBe('removed carrier rule #2 "bandwidth" (global)\n');
    expect(both(2, 'carriers', 'remove', 'bandwidth').stderr).toBe('callguard: no carrier rule "bandwidth"\n');

    expect(both(0, 'carriers', 'import', nanpa).stdout).toBe(`imported 12000 carrier prefix(es) from ${nanpa}\n`);
    expect((await pool.query('SELECT count(*)::int AS n FROM carrier_prefixes')).rows).toEqual([{ n: 12_000 }]);
    expect((await pool.query("SELECT carrier FROM carrier_prefixes WHERE prefix = '+1215999'")).rows).toEqual([{ carrier: 'Robo Telecom' }]);
    expect(both(2, 'carriers', 'import', dir.file('missing.csv')).stderr).toBe(`callguard: cannot read ${dir.file('missing.csv')}: no such file\n`);
    expect(both(0, 'carriers', 'import', csv).stdout).toBe(`imported 2 carrier prefix(es) from ${csv}\n`);

    expect((await pool.query('SELECT scope, enabled, threshold, flag_threshold, action FROM protection ORDER BY scope')).rows).toEqual([
      { scope: 'global', enabled: 1, threshold: 60, flag_threshold: 40, action: 'block' },
      { scope: 'tenant:acme', enabled: 0, threshold: 60, flag_threshold: 40, action: 'challenge' },
    ]);
    expect((await pool.query('SELECT key, value FROM score_settings')).rows).toEqual([{ key: 'neighbor', value: '30' }]);
    expect((await pool.query('SELECT id, scope, pattern FROM carrier_rules ORDER BY id')).rows).toEqual([
      { id: 1, scope: 'tenant:acme', pattern: 'robo telecom' },
      { id: 3, scope: 'did:+14045550000', pattern: 'voip innovations' },
    ]);
    expect((await pool.query('SELECT prefix, carrier FROM carrier_prefixes ORDER BY prefix')).rows).toEqual([
      { prefix: '+1212', carrier: 'Verizon' },
      { prefix: '+1404555', carrier: 'Robo Telecom' },
    ]);
    const audit = await pool.query<{ actor: string; change: string }>("SELECT actor, verb || ' ' || entity || ' ' || key AS change FROM audit ORDER BY id");
    expect(audit.rows.map((row) => row.change)).toEqual([
      'add tenant acme',
      'add protection global',
      'add protection tenant:acme',
      'add setting score.neighbor',
      'add carrier #1',
      'add carrier #2',
      'add carrier #3',
      'remove carrier #2',
      `import carrier import ${nanpa}`,
      `import carrier import ${csv}`,
    ]);
    expect(new Set(audit.rows.map((row) => row.actor)).size).toBe(1);
    expect(audit.rows[0]!.actor).toMatch(/^cli:/);
    expect(existsSync(never)).toBe(false);
  });
});
