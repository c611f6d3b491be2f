// Security properties of the agent as shipped: listeners on loopback by default, secrets
// never in a log line, files only for their owner, and SQL only ever parameterised.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../agent/config/load';
import { counterQueries, hourlyQuery, listQuery, postgresParameter, sqliteParameter } from '../agent/store/call-log-sql';
import { isLoopbackHost } from '../agent/http/loopback';
import { binPath, repoRoot, runCli } from './helpers/run-cli';
import { makeTempDir } from './helpers/temp-db';
import type { TempDir } from './helpers/temp-db';
import { startAsteriskSim } from './sim/asterisk';
import { FreeSwitchSim } from './sim/freeswitch';
import { freePort } from './helpers/free-port';
import { PATIENCE_MS } from './helpers/patience';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): TempDir {
  const dir = makeTempDir('callguard-security-');
  cleanups.push(() => dir.remove());
  return dir;
}


interface Serving {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves once a log line matches (gives up only after PATIENCE_MS: a hang detector). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** The exit code, once it has exited by itself. */
  readonly exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** `callguard serve …` as a child process, the HTTP hook on a free loopback port. */
async function serve(dir: TempDir, args: string[], env: Record<string, string> = {}, config: Record<string, unknown> = {}, options: { umask000?: boolean } = {}): Promise<Serving> {
  const configFile = dir.file(`config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(configFile, JSON.stringify({ http: { listen: `127.0.0.1:${await freePort()}` }, ...config }));
  const argv = [binPath, '--db', dir.file('callguard.db'), '--config', configFile, 'serve', '--no-console', ...args];
  // `exec` keeps the pid: the shell only sets the umask.
  const [command, commandArgs] = options.umask000 ? ['/bin/sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, ...argv]] : [process.execPath, argv];
  const child = spawn(command as string, commandArgs as string[], {
    cwd: repoRoot,
    env: { ...process.env, CALLGUARD_DB: '', CALLGUARD_CONFIG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters = new Set<() => void>();
  const take = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code))); // output all read
  cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
  return {
    child,
    output: () => output,
    exited,
    waitFor: (pattern, timeoutMs = PATIENCE_MS) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${pattern} in: ${output.slice(-2000)}`));
        }, timeoutMs);
        const check = () => {
          if (!pattern.test(output)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
        // An agent that has exited will print nothing more: no point waiting out the deadline.
        void closed.then((code) => {
          if (!waiters.has(check)) return;
          clearTimeout(timer);
          waiters.delete(check);
          reject(new Error(`exited (${code}) before ${pattern}: ${output.slice(-2000)}`));
        });
      }),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Local addresses of every TCP socket the process listens on (from /proc). */
function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const found: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '0A' || !inodes.has(fields[9]!)) continue;
      found.push(decodeProcAddress(fields[1]!));
    }
  }
  return found;
}

function decodeProcAddress(text: string): string {
  const [hex, port] = text.split(':') as [string, string];
  const bytes = Buffer.from(hex, 'hex');
  // /proc prints each 32-bit word in host (little-endian) order.
  for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  const address = bytes.length === 4 ? [...bytes].join('.') : (bytes.toString('hex').match(/.{4}/g) ?? []).join(':');
  return `${address}|${parseInt(port, 16)}`;
}

const isLoopbackProc = (address: string) => {
  const host = address.split('|')[0]!;
  return host.startsWith('127.') || host === '0000:0000:0000:0000:0000:0000:0000:0001' || /^0000:0000:0000:0000:0000:ffff:7f/.test(host);
};

describe('listeners bind loopback by default', () => {
  it('every address the agent listens on or connects to defaults to this machine', () => {
    const config = loadConfig(undefined, {}, {});
    const hostOf = (hostPort: string) => hostPort.slice(0, hostPort.lastIndexOf(':'));
    expect(isLoopbackHost(hostOf(config.freeswitch.listen))).toBe(true);
    expect(isLoopbackHost(hostOf(config.http.listen))).toBe(true);
    expect(config.http.enabled && config.http.token === null).toBe(true); // hence loopback, or no hook
    expect(isLoopbackHost(hostOf(config.freeswitch.esl))).toBe(true);
    expect(isLoopbackHost(new URL(config.asterisk.url).hostname)).toBe(true);
  });

  it('a running agent (outbound listener and HTTP hook) holds no listening socket off loopback', async () => {
    const dir = tempDir();
    const port = await freePort();
    const agent = await serve(dir, ['--pbx', 'freeswitch', '--mode', 'outbound', '--listen', `127.0.0.1:${port}`]);
    await agent.waitFor(/listening for FreeSWITCH outbound sockets/);
    await agent.waitFor(/HTTP hook listening/); // the hook starts right after the driver
    const addresses = listeningAddresses(agent.child.pid!);
    expect(addresses).toContain(`127.0.0.1|${port}`);
    expect(addresses.filter((address) => !isLoopbackProc(address))).toEqual([]);
    expect(await agent.stop()).toBe(0);
  });
});

describe('credentials are never logged', () => {
  const ESL_SECRET = 'esl-Secr3t-q7Zk';
  const ARI_SECRET = 'ari-Secr3t-w9Xm';
  const HOOK_SECRET = 'hook-Secr3t-token-5tYq';
  const secrets = (text: string) => [ESL_SECRET, ARI_SECRET, HOOK_SECRET, encodeURIComponent(ARI_SECRET)].filter((secret) => text.includes(secret));

  it('FreeSWITCH inbound at trace level: connect, lost connection, reconnect, wrong password, stop', async () => {
    const dir = tempDir();
    const sim = new FreeSwitchSim({ password: ESL_SECRET });
    const simPort = await sim.start();
    cleanups.push(() => sim.close());
    const env = { CALLGUARD_ESL_PASSWORD: ESL_SECRET, CALLGUARD_HTTP_TOKEN: HOOK_SECRET, CALLGUARD_ARI_PASSWORD: ARI_SECRET };
    const args = ['--pbx', 'freeswitch', '--mode', 'inbound', '--esl', `127.0.0.1:${simPort}`, '--log-level', 'trace'];
    const agent = await serve(dir, args, env);
    await agent.waitFor(/connected to FreeSWITCH event socket/);
    expect((await sim.parkCall({ callerIdNumber: '+14045551234', dialplanSet: { callguard_screen: 'true' } }).done).outcome).toBe('transferred');
    sim.dropConnections();
    await agent.waitFor(/retrying/);
    await agent.waitFor(/connected to FreeSWITCH event socket[\s\S]*connected to FreeSWITCH event socket/);
    expect(await agent.stop()).toBe(0);
    expect(agent.output()).toMatch(/"eslPassword":"\[redacted\]"/); // the whole config is logged at start, secrets redacted
    expect(secrets(agent.output())).toEqual([]);

    const wrong = await serve(dir, ['--pbx', 'freeswitch', '--mode', 'inbound', '--esl', `127.0.0.1:${simPort}`, '--esl-password', `${ESL_SECRET}-not`, '--log-level', 'trace'], env);
    await wrong.exited; // it gives up (the exit code is operations.test.ts's business)
    expect(wrong.output()).toMatch(/refused the event-socket password/);
    expect(secrets(wrong.output())).toEqual([]);
  });

  it('Asterisk at trace level: connect, dropped WebSocket, Asterisk unreachable, wrong password, stop', async () => {
    const dir = tempDir();
    const sim = await startAsteriskSim({ password: ARI_SECRET });
    cleanups.push(() => sim.close());
    const env = { CALLGUARD_ARI_PASSWORD: ARI_SECRET, CALLGUARD_HTTP_TOKEN: HOOK_SECRET, CALLGUARD_ESL_PASSWORD: ESL_SECRET };
    const agent = await serve(dir, ['--pbx', 'asterisk', '--ari-url', sim.url, '--log-level', 'trace'], env);
    await agent.waitFor(/Stasis application registered/);
    expect((await sim.placeCall({ callerNumber: '+14045551234', exten: '+18005550100' }).done).outcome).toBe('continued');
    sim.dropWebSockets();
    await sim.waitUntil(() => sim.isAppConnected('callguard'), PATIENCE_MS, 'the reconnection');
    await sim.refuseConnections();
    sim.dropWebSockets();
    await agent.waitFor(/lost the ARI WebSocket/);
    // Unreachable for a while: ari-client retries quietly meanwhile (no line to wait for); nothing here
    // depends on how many tries fit in, so this pause is no deadline a slow machine could miss.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await sim.acceptConnections();
    expect(await agent.stop()).toBe(0);
    expect(secrets(agent.output())).toEqual([]);

    const wrong = await serve(dir, ['--pbx', 'asterisk', '--ari-url', sim.url, '--ari-password', `${ARI_SECRET}-not`, '--log-level', 'trace'], env);
    await wrong.exited;
    expect(wrong.output()).toMatch(/refused user "callguard"/);
    expect(secrets(wrong.output())).toEqual([]);
  });

  it('`config check` prints the effective settings with every secret redacted', () => {
    const dir = tempDir();
    const file = dir.file('callguard.json');
    writeFileSync(file, JSON.stringify({ freeswitch: { eslPassword: ESL_SECRET }, asterisk: { password: ARI_SECRET } }));
    const result = runCli(['config', 'check', file], { env: { CALLGUARD_HTTP_TOKEN: HOOK_SECRET } });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/\[redacted\]/);
    expect(secrets(result.stdout + result.stderr)).toEqual([]);
  });
});

describe('files callguard creates are not world-readable', () => {
  const modeOf = (path: string) => statSync(path).mode & 0o777;

  it('the database, its WAL and shared-memory files, and a backup are owner-only, even under umask 000', async () => {
    const dir = tempDir();
    const db = dir.file('callguard.db');
    // A shell sets the permissive umask; callguard must not rely on the operator's.
    const cli = (...args: string[]) => spawnSyncShell(`umask 000 && exec "${process.execPath}" "${binPath}" --db "${db}" ${args.map((arg) => `'${arg}'`).join(' ')}`);
    cli('tenants', 'add', 'acme');
    expect(modeOf(db) & 0o077).toBe(0);
    const agent = await serve(dir, ['--pbx', 'freeswitch', '--mode', 'outbound', '--listen', `127.0.0.1:${await freePort()}`], {}, {}, { umask000: true });
    await agent.waitFor(/listening for FreeSWITCH outbound sockets/);
    cli('rules', 'add', '404-555-1234', '--action', 'block'); // a write while the agent holds the file open
    for (const file of [db, `${db}-wal`, `${db}-shm`]) expect(modeOf(file) & 0o077, file).toBe(0);
    cli('backup', dir.file('backup.db'));
    expect(modeOf(dir.file('backup.db')) & 0o077).toBe(0);
    // Whatever else is left in the folder (config files aside) is callguard's, and owner-only too.
    for (const name of readdirSync(dir.dir).filter((file) => !file.startsWith('config-'))) expect(modeOf(dir.file(name)) & 0o077, name).toBe(0);
    expect(await agent.stop()).toBe(0);
  });
});

function spawnSyncShell(command: string): void {
  const { status, stderr } = spawnSync('/bin/sh', ['-c', command], { cwd: repoRoot, encoding: 'utf8' });
  if (status !== 0) throw new Error(`${command} → ${status}: ${stderr}`);
}

describe('every SQL statement is parameterised', () => {
  /**
   * Reads agent/ with the TypeScript compiler and follows the text handed to every
   * better-sqlite3 prepare(), exec() and pragma() and every pg query() (a pool's, a
   * client's; a query config's text): it may be built only from fixed text
   * (literals, constants of fixed text), `?` placeholder lists, and numbers. Anything
   * else interpolated (a parameter, a property of a caller's data) is reported.
   */
  it('no prepare(), exec(), pragma() or PostgreSQL query() text is built from anything but fixed fragments, placeholder lists or numbers', () => {
    const files = walk(join(repoRoot, 'agent')).filter((file) => file.endsWith('.ts'));
    const program = ts.createProgram(files, { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, noEmit: true, types: ['node'] });
    const checker = program.getTypeChecker();
    agentSources = program.getSourceFiles().filter((source) => files.includes(source.fileName));
    const calls: string[] = [];
    const unsafe: string[] = [];
    for (const source of program.getSourceFiles()) {
      if (!files.includes(source.fileName)) continue;
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && ['prepare', 'exec', 'pragma', 'query'].includes(node.expression.name.text)) {
          const receiver = checker.getTypeAtLocation(node.expression.expression);
          if ((node.expression.name.text === 'query' ? isPgClient(receiver) : isSqliteDatabase(receiver)) && node.arguments[0]) {
            const where = `${relative(repoRoot, source.fileName)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
            calls.push(`${node.expression.name.text} ${where}`);
            const why = unsafeParts(node.arguments[0], checker, new Set());
            if (why.length > 0 && !ALLOWED.has(`${relative(repoRoot, source.fileName)}|${node.arguments[0].getText()}`)) unsafe.push(`${where}: ${why.join('; ')}`);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(calls.filter((call) => !call.startsWith('query')).length).toBeGreaterThan(40); // the walk really found the statements
    expect(calls.filter((call) => call.startsWith('query')).length).toBeGreaterThan(100); // PostgreSQL's too
    expect(unsafe).toEqual([]);
  });

  it('the call log\'s shared statements carry hostile filter values as parameters only', () => {
    const hostile = "x' OR '1'='1";
    for (const mark of [sqliteParameter, postgresParameter]) {
      const query = listQuery({ tenant: hostile, tenants: [hostile, hostile], did: hostile, caller: hostile, outcome: hostile, action: hostile, ruleId: 7, since: 1, limit: 5 }, mark);
      expect(query.sql).not.toContain(hostile);
      expect(query.params.filter((value) => value === hostile)).toHaveLength(7);
      for (const counter of [...counterQueries({ tenant: hostile, since: 1_234 }, mark), hourlyQuery({ tenants: [hostile] }, 0, 24, mark)]) expect(counter.sql).not.toContain(hostile);
    }
  });

  it('the check itself catches string-built SQL', () => {
    const source = ts.createSourceFile(
      'x.ts',
      `declare const db: { prepare(sql: string): void }; const SQL = ['SELECT 1', 'SELECT 2'] as const; function f(name: string, n: number, names: string[]) { db.prepare(\`SELECT * FROM t WHERE a = '\${name}'\`); db.prepare('SELECT ' + name); db.prepare(\`LIMIT \${n}\`); const ps = [1, 2].map(() => '?').join(', '); db.prepare(\`IN (\${ps})\`); db.prepare(SQL[n]); db.prepare(names[0]!); }`,
      ts.ScriptTarget.ES2022,
      true,
    );
    const host = ts.createCompilerHost({});
    const original = host.getSourceFile;
    host.getSourceFile = (name, ...rest) => (name === 'x.ts' ? source : original.call(host, name, ...rest));
    const checker = ts.createProgram(['x.ts'], { noLib: true, types: [] }, host).getTypeChecker();
    const verdicts: boolean[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'prepare') verdicts.push(unsafeParts(node.arguments[0]!, checker, new Set()).length === 0);
      ts.forEachChild(node, visit);
    };
    visit(source);
    expect(verdicts).toEqual([false, false, true, true, true, false]);
  });
});

/** Statements whose text comes from files of the package itself, not from code: each with why it is safe. */
const ALLOWED = new Set([
  // The numbered SQL files in migrations/, shipped with the package and applied in order.
  'agent/store/migrate.ts|migration.sql',
  'agent/store/postgres/migrate.ts|migration.sql',
  // The call log's reads, built once for both dialects by agent/store/call-log-sql.ts from
  // fixed fragments, every value a parameter (Parameters.add/list); the test below feeds
  // them hostile filters.
  'agent/store/call-log-queries.ts|sql',
  'agent/store/call-log-queries.ts|`EXPLAIN QUERY PLAN ${sql}`',
  'agent/store/postgres/call-log-backend.ts|sql',
]);

function isSqlIdentifier(expression: ts.Expression, checker: ts.TypeChecker): boolean {
  if (!ts.isIdentifier(expression) || expression.text !== 'sqlIdentifier') return false;
  const local = checker.getSymbolAtLocation(expression);
  const symbol = local && local.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(local) : local;
  return (symbol?.declarations ?? []).some((declaration) => relative(repoRoot, declaration.getSourceFile().fileName) === 'agent/store/sql-identifier.ts');
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]));
}

/** All of agent/, for following a parameter to every caller of the function it belongs to. */
let agentSources: readonly ts.SourceFile[] = [];

function isPgClient(type: ts.Type): boolean {
  const symbol = type.getSymbol() ?? type.aliasSymbol;
  if (!symbol) return false;
  return ['Pool', 'PoolClient', 'Client', 'ClientBase'].includes(symbol.getName()) && (symbol.getDeclarations() ?? []).some((declaration) => /@types[\\/]pg[\\/]/.test(declaration.getSourceFile().fileName));
}

/** `copyFrom(text)` of pg-copy-streams: a COPY statement's text handed to query(). */
function isCopyFrom(callee: ts.Expression, checker: ts.TypeChecker): boolean {
  const local = ts.isIdentifier(callee) ? checker.getSymbolAtLocation(callee) : undefined;
  const symbol = local && local.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(local) : local;
  return (symbol?.declarations ?? []).some((declaration) => /pg-copy-streams/.test(declaration.getSourceFile().fileName));
}

function isSqliteDatabase(type: ts.Type): boolean {
  const symbol = type.getSymbol() ?? type.aliasSymbol;
  if (!symbol) return false;
  return symbol.getName() === 'Database' && (symbol.getDeclarations() ?? []).some((declaration) => /better-sqlite3/.test(declaration.getSourceFile().fileName));
}

/** The parts of `expression` that are neither fixed text, a placeholder list, nor a number; empty when it is safe. */
function unsafeParts(expression: ts.Expression, checker: ts.TypeChecker, seen: Set<ts.Node>): string[] {
  const node = skipOuter(expression);
  if (seen.has(node)) return [];
  seen.add(node);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isNumericLiteral(node)) return [];
  if (isNumber(node, checker)) return [];
  if (ts.isTemplateExpression(node)) return node.templateSpans.flatMap((span) => unsafeParts(span.expression, checker, seen));
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) return [...unsafeParts(node.left, checker, seen), ...unsafeParts(node.right, checker, seen)];
  if (ts.isConditionalExpression(node)) return [...unsafeParts(node.whenTrue, checker, seen), ...unsafeParts(node.whenFalse, checker, seen)];
  if (ts.isArrayLiteralExpression(node)) return node.elements.flatMap((element) => unsafeParts(ts.isSpreadElement(element) ? element.expression : element, checker, seen));
  // `STATEMENTS[INSERT]`: safe when every element of the list is.
  if (ts.isElementAccessExpression(node)) return unsafeParts(node.expression, checker, seen);
  if (ts.isCallExpression(node)) {
    const callee = node.expression;
    // `sqlIdentifier(name)`, `names.map(sqlIdentifier)`: a schema name, checked and quoted (agent/store/sql-identifier.ts).
    if (isSqlIdentifier(callee, checker) || (ts.isPropertyAccessExpression(callee) && callee.name.text === 'map' && node.arguments[0] && isSqlIdentifier(node.arguments[0], checker))) return [];
    // `x.map(() => '?')`, `Array.from({ length }, () => '?')`: a placeholder list whatever x holds.
    const callback = node.arguments.find((argument) => ts.isArrowFunction(argument) || ts.isFunctionExpression(argument)) as ts.ArrowFunction | undefined;
    if (ts.isPropertyAccessExpression(callee) && ['map', 'from'].includes(callee.name.text) && callback && functionReturns(callback).every((returned) => unsafeParts(returned, checker, seen).length === 0)) return [];
    if (isCopyFrom(callee, checker) && node.arguments[0]) return unsafeParts(node.arguments[0], checker, seen);
    // `parts.join(' AND ')`: safe when every part is.
    if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'join') return [...unsafeParts(callee.expression, checker, seen), ...node.arguments.flatMap((argument) => unsafeParts(argument, checker, seen))];
    // A function or method of agent/ returning fixed text (a WHERE clause builder, a `$n` placeholder maker).
    const declaration = checker.getResolvedSignature(node)?.getDeclaration();
    if (declaration && (ts.isMethodDeclaration(declaration) || ts.isFunctionDeclaration(declaration) || ts.isArrowFunction(declaration) || ts.isFunctionExpression(declaration)) && declaration.body && agentSources.includes(declaration.getSourceFile())) {
      return functionReturns(declaration).flatMap((returned) => unsafeParts(returned, checker, seen));
    }
    return [`call ${node.getText().slice(0, 60)}`];
  }
  if (ts.isObjectLiteralExpression(node)) {
    // A query config: its text and values; a function in it (pg's type parsers) is no text.
    return node.properties.flatMap((property) =>
      ts.isPropertyAssignment(property)
        ? ts.isArrowFunction(skipOuter(property.initializer)) || ts.isFunctionExpression(skipOuter(property.initializer))
          ? []
          : unsafeParts(property.initializer, checker, seen)
        : ts.isShorthandPropertyAssignment(property)
          ? unsafeParts(property.name, checker, seen)
          : ts.isSpreadAssignment(property)
            ? unsafeParts(property.expression, checker, seen)
            : [],
    );
  }
  if (ts.isIdentifier(node)) {
    const local = checker.getSymbolAtLocation(node);
    // An imported constant: follow it to its declaration in the module that exports it.
    const symbol = local && local.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(local) : local;
    const declaration = symbol?.valueDeclaration ?? symbol?.declarations?.[0];
    if (!declaration) return [`unknown ${node.text}`];
    if (ts.isShorthandPropertyAssignment(declaration)) return unsafeParts(declaration.name, checker, seen);
    if (ts.isBindingElement(declaration)) {
      // `const { sql } = this.where(filter)`: the property of what the initializer returns.
      const pattern = declaration.parent;
      const variable = pattern.parent;
      const property = (declaration.propertyName ?? declaration.name).getText();
      if (ts.isVariableDeclaration(variable) && variable.initializer) return unsafeParts(variable.initializer, checker, seen).filter((part) => part.includes(property));
      return [`binding ${node.text}`];
    }
    if (ts.isVariableDeclaration(declaration)) {
      const parts = declaration.initializer ? unsafeParts(declaration.initializer, checker, seen) : [];
      // Every later assignment (`sql += …`) and every `push(…)` into it must be safe too.
      const scope = declaration.getSourceFile();
      const later: string[] = [];
      const visit = (inner: ts.Node): void => {
        if (ts.isBinaryExpression(inner) && ts.isIdentifier(inner.left) && checker.getSymbolAtLocation(inner.left) === symbol && [ts.SyntaxKind.EqualsToken, ts.SyntaxKind.PlusEqualsToken].includes(inner.operatorToken.kind)) later.push(...unsafeParts(inner.right, checker, seen));
        if (ts.isCallExpression(inner) && ts.isPropertyAccessExpression(inner.expression) && ['push', 'unshift'].includes(inner.expression.name.text) && ts.isIdentifier(inner.expression.expression) && checker.getSymbolAtLocation(inner.expression.expression) === symbol) {
          later.push(...inner.arguments.flatMap((argument) => unsafeParts(argument, checker, seen)));
        }
        ts.forEachChild(inner, visit);
      };
      visit(scope);
      return [...parts, ...later];
    }
    if (ts.isParameter(declaration)) return parameterParts(declaration, node.text, checker, seen);
    return [`${ts.SyntaxKind[declaration.kind]} ${node.text}`];
  }
  return [`${ts.SyntaxKind[node.kind]} ${node.getText().slice(0, 60)}`];
}

/**
 * A parameter is as safe as what every caller passes: followed to every call in agent/ of
 * the function or method it belongs to (none found: unsafe, as something else may call it).
 */
function parameterParts(parameter: ts.ParameterDeclaration, name: string, checker: ts.TypeChecker, seen: Set<ts.Node>): string[] {
  const owner = parameter.parent;
  const index = owner.parameters.indexOf(parameter);
  if (!ts.isMethodDeclaration(owner) && !ts.isFunctionDeclaration(owner) && !ts.isArrowFunction(owner) && !ts.isFunctionExpression(owner)) return [`parameter ${name}`];
  const parts: string[] = [];
  let callers = 0;
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && checker.getResolvedSignature(node)?.getDeclaration() === owner) {
      callers++;
      const argument = node.arguments[index];
      parts.push(...(argument ? unsafeParts(argument, checker, seen) : []));
    }
    ts.forEachChild(node, visit);
  };
  for (const source of agentSources) visit(source);
  return callers === 0 ? [`parameter ${name} (no caller found)`] : parts;
}

function skipOuter(expression: ts.Expression): ts.Expression {
  let node = expression;
  while (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isNonNullExpression(node) || ts.isTypeAssertionExpression(node)) node = node.expression;
  return node;
}

function isNumber(node: ts.Expression, checker: ts.TypeChecker): boolean {
  const type = checker.getTypeAtLocation(node);
  return (type.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) !== 0;
}

/** What a function returns: an arrow's expression body, or every `return` of a block body. */
function functionReturns(fn: ts.FunctionLikeDeclaration): ts.Expression[] {
  if (!fn.body) return [];
  return ts.isBlock(fn.body) ? returnedExpressions(fn.body) : [fn.body];
}

function returnedExpressions(body: ts.Block): ts.Expression[] {
  const found: ts.Expression[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node)) return;
    if (ts.isReturnStatement(node) && node.expression) found.push(node.expression);
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(body, visit);
  return found;
}
