import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { packageRoot } from '../store/package-root';

/** Where `npm run build` puts the front end, from the package folder. */
export const CONSOLE_DIR = 'dist/console';

/** The console's page addresses: each answers index.html, and the front end's router draws the page. */
export const CONSOLE_PAGES = ['/', '/signin', '/companies', '/activity', '/timeline/:caller', '/blocked', '/addresses', '/names', '/protection', '/lists', '/audit'] as const;

/**
 * What a console page may do: its own script and style only (no inline script, so a caller
 * name that somehow reached the markup still could not run), talk to its own origin, and
 * never sit in someone else's frame.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
} as const;

export interface ConsoleStaticOptions {
  /** The built front end (`npm run build` writes it); by default `dist/console` of the package. */
  readonly dir?: string;
}

/**
 * The web console's files, for the console server to register beside the API: index.html
 * for every page address (never cached: it names the current assets), and the hashed
 * assets under /assets/, cached for a year since a new build gives them new names.
 */
export function consoleStatic(options: ConsoleStaticOptions = {}): FastifyPluginAsync {
  return async (app) => {
    const dir = options.dir ?? join(packageRoot(), CONSOLE_DIR);
    const indexFile = join(dir, 'index.html');
    const index = existsSync(indexFile) ? readFileSync(indexFile) : null;
    const sendPage = (reply: FastifyReply) => {
      if (!index) return reply.code(503).type('text/plain; charset=utf-8').send('The console is not built: run npm run build (the REST API under /v1/ works without it).\n');
      return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(index);
    };
    for (const path of CONSOLE_PAGES) app.get(path, { schema: { hide: true } }, async (_request, reply) => sendPage(reply));
    if (existsSync(join(dir, 'assets'))) {
      await app.register(fastifyStatic, {
        root: join(dir, 'assets'),
        prefix: '/assets/',
        decorateReply: false,
        index: false,
        list: false,
        dotfiles: 'deny',
        immutable: true,
        // The build writes .br and .gz beside each asset: sent to browsers that accept them.
        preCompressed: true,
        maxAge: '365d',
        // Some proxies only compress what they are told is text: the types are right from the extension.
        setHeaders: (res) => res.setHeader('x-content-type-options', 'nosniff'),
      });
    }
  };
}
