import type { Command } from 'commander';
import { startConsole } from '../api/console-server';
import { loadConfig } from '../config/load';
import { createLogger } from '../log/logger';
import { withContext } from './action';
import type { CliContext } from './context';
import { untilSignal } from './serve';

interface ConsoleFlags {
  listen?: string;
  behindProxy?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: string;
}

/** The web console and REST API alone, for managing rules on a machine with no PBX. */
async function runConsole(ctx: CliContext, flags: ConsoleFlags): Promise<void> {
  const config = loadConfig(ctx.configFile, process.env, {
    logLevel: flags.logLevel,
    'console.listen': flags.listen,
    'console.behindProxy': flags.behindProxy,
    'console.tlsCert': flags.tlsCert,
    'console.tlsKey': flags.tlsKey,
  });
  const logger = createLogger(config.logLevel);
  const running = await startConsole(config.console, { store: await ctx.storeBackends(), country: ctx.country, logger, callerIds: ctx.callerIds });
  const signal = await untilSignal();
  logger.info({ signal }, 'stopping the console');
  await running.stop();
}

export function registerConsole(program: Command): void {
  program
    .command('console')
    .description('serve the web console and REST API (/v1, OpenAPI at /v1/openapi.json) without screening calls')
    .option('--listen <host:port>', 'where to listen (default 127.0.0.1:8096)')
    .option('--behind-proxy', 'a TLS reverse proxy sits in front (needed to listen off loopback without --tls-cert)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM) …')
    .option('--tls-key <file>', '… and this key')
    .option('--log-level <level>', 'fatal, error, warn, info (default), debug or trace')
    .action(withContext(runConsole));
}
