/**
 * A throwaway PostgreSQL cluster from Debian's server packages, for tests and the bench:
 * initdb into a temp folder, listening on a free 127.0.0.1 port (and a socket in that
 * folder), password auth over TCP. PostgreSQL refuses to run as root, so as root the
 * cluster runs as the `postgres` user. Framework-free, so scripts can use it too.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from './free-port';

export interface PostgresCluster {
  /** Superuser URL (user postgres, with its password) on the `postgres` database. */
  readonly adminUrl: string;
  readonly port: number;
  stop(): void;
}

const DEBIAN_BIN = '/usr/lib/postgresql';

/** The newest installed server's bin folder; throws, saying what to install, when there is none. */
export function postgresBinDir(): string {
  const versions = existsSync(DEBIAN_BIN)
    ? readdirSync(DEBIAN_BIN)
        .filter((version) => existsSync(join(DEBIAN_BIN, version, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      `the PostgreSQL tests need PostgreSQL's server binaries (${DEBIAN_BIN}/<version>/bin/pg_ctl) and found none: install them with \`apt-get install -y postgresql\` (they are never skipped)`,
    );
  }
  return join(DEBIAN_BIN, versions[0]!, 'bin');
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const run = (program: string, args: string[]) => {
    const command = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] as const : [join(bin, program), args] as const;
    try {
      return execFileSync(command[0], command[1], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    } catch (error) {
      const output = error as { stdout?: string; stderr?: string };
      throw new Error(`${program} failed: ${output.stderr || output.stdout || String(error)}`);
    }
  };
  const dir = mkdtempSync(join(tmpdir(), 'callguard-postgres-'));
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chownSync(passwordFile, uid, gid);
  }
  try {
    run('initdb', ['-D', data, '-U', 'postgres', `--pwfile=${passwordFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']);
    rmSync(passwordFile);
    const port = await freePort();
    // Durability is not what these tests check: fsync off keeps a busy machine fast.
    const settings = [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=400',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
    ].join(' ');
    run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', settings, '-w', '-t', '120', 'start']);
    let stopped = false;
    return {
      adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      port,
      stop: () => {
        if (stopped) return;
        stopped = true;
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    const log = join(dir, 'server.log');
    const tail = existsSync(log) ? `\n${readFileSync(log, 'utf8').split('\n').slice(-20).join('\n')}` : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}${tail}`);
  }
}
