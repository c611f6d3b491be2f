import type { CallerIdSettings } from '../config/caller-ids';
import cookie from '@fastify/cookie';
import { Tokens } from '@fastify/csrf';
import type { TokensSimple } from '@fastify/csrf';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { Logger } from '../log/logger';
import { Forbidden } from '../operations/acting';
import type { Acting } from '../operations/acting';
import type { Backends, StoreBackends } from '../operations/store-backends';
import type { ReputationClient } from '../screening/reputation';
import type { Authenticator } from './authenticator';
import { Unauthenticated, errorHandler } from './errors';
import { auditRoutes } from './routes/audit';
import { callRoutes } from './routes/calls';
import { carrierRoutes } from './routes/carriers';
import { categoryRoutes } from './routes/categories';
import { explainRoutes } from './routes/explain';
import { listRoutes } from './routes/lists';
import { meRoutes } from './routes/me';
import { protectionRoutes } from './routes/protection';
import { reputationRoutes } from './routes/reputation';
import { ruleEditRoutes } from './routes/rule-edit';
import { ruleRoutes } from './routes/rules';
import { SESSION_COOKIE, sessionRoutes } from './routes/session';
import { statsRoutes } from './routes/stats';
import { whatIfRoutes } from './routes/whatif';
import type { SourceReport } from '../screening/reputation-health';
import { tenantRoutes } from './routes/tenants';
import { userRoutes } from './routes/users';

export interface ApiDeps {
  /** The store the operations work on: the SQLite file, or a fleet's PostgreSQL. */
  readonly store: StoreBackends;
  readonly country: string;
  /** What "no caller ID" and each attestation word mean (the config's `anonymous` and `attestation`): explain decides as the agent does. */
  readonly callerIds?: CallerIdSettings | undefined;
  readonly authenticator: Authenticator;
  readonly reputation: ReputationClient;
  readonly logger: Logger;
  /** Served over TLS (here or by a proxy in front): cookies get the Secure flag. */
  readonly secure: boolean;
  /** TLS served by the agent itself. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** Behind a reverse proxy: the client's address (for rate limits) comes from X-Forwarded-For. */
  readonly behindProxy?: boolean | undefined;
  /** Each reputation source as this agent's lookups found it (beside `serve`); absent where the console runs alone. */
  readonly reputationHealth?: (() => readonly SourceReport[]) | undefined;
}

export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking; null until authenticated (routes that need someone call `actingOf`). */
    acting: Acting | null;
    /** The browser session's CSRF secret, when the request came with a session cookie. */
    csrfSecret: string | null;
  }
}

/** The request's authenticated person or machine; 401 when there is none. */
export function actingOf(request: FastifyRequest): Acting {
  if (!request.acting) throw new Unauthenticated('sign in (POST /v1/session) or send Authorization: Bearer <token>');
  return request.acting;
}

/** The store's parts for the request's authenticated person (401 when there is none), their changes audited as them. */
export function backendsOf(store: StoreBackends, request: FastifyRequest): Backends {
  return store.as(actingOf(request).actor);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Bodies are small JSON documents; a CSV import is the largest and has its own limit. */
const BODY_LIMIT = 1024 * 1024;

/**
 * The REST API under /v1/: the same operations the CLI calls, for the console and any
 * other program. Machines send a bearer token; browsers a session cookie, and with it a
 * CSRF token on every request that changes something. The OpenAPI document is generated
 * from the schemas that validate the requests.
 */
export async function buildApi(deps: ApiDeps): Promise<Api> {
  // Unknown properties are refused, not quietly dropped: a misspelt field must not go unnoticed.
  const options = { logger: false, bodyLimit: BODY_LIMIT, trustProxy: deps.behindProxy ?? false, ajv: { customOptions: { removeAdditional: false } } } as const;
  const app = (deps.tls ? Fastify({ ...options, https: { cert: deps.tls.cert, key: deps.tls.key } }) : Fastify(options)).withTypeProvider<TypeBoxTypeProvider>() as unknown as Api;
  app.setErrorHandler(errorHandler(deps.logger));
  await app.register(cookie);
  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'callguard', version: '1', description: 'Inbound call screening: rules, call log and decisions. Authenticate with a bearer token (callguard tokens add) or a session cookie (POST /v1/session).' },
      components: {
        securitySchemes: {
          token: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        },
      },
      security: [{ token: [] }, { session: [] }],
    },
  });
  const csrf = new Tokens({ userInfo: false });
  app.decorateRequest('acting', null);
  app.decorateRequest('csrfSecret', null);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const token = /^Bearer (\S+)$/.exec(header)?.[1];
      request.acting = token ? await deps.authenticator.byToken(token) : null;
      if (!request.acting) throw new Unauthenticated('unknown or revoked token');
      return;
    }
    const sessionId = request.cookies[SESSION_COOKIE];
    const session = sessionId ? await deps.authenticator.bySession(sessionId) : null;
    if (!session) return;
    request.acting = session.acting;
    request.csrfSecret = session.csrfSecret;
    if (SAFE_METHODS.has(request.method)) return;
    const sent = request.headers['x-csrf-token'];
    if (typeof sent !== 'string' || !csrf.verify(session.csrfSecret, sent)) {
      throw new Forbidden('missing or wrong x-csrf-token header: a browser session sends the one sign-in answered');
    }
  });
  const context = { ...deps, csrf };
  await app.register(sessionRoutes(context));
  await app.register(tenantRoutes(context));
  await app.register(ruleRoutes(context));
  await app.register(ruleEditRoutes(context));
  await app.register(listRoutes(context));
  await app.register(meRoutes(context));
  await app.register(userRoutes(context));
  await app.register(explainRoutes(context));
  await app.register(callRoutes(context));
  await app.register(auditRoutes(context));
  await app.register(categoryRoutes(context));
  await app.register(protectionRoutes(context));
  await app.register(reputationRoutes(context));
  await app.register(carrierRoutes(context));
  await app.register(statsRoutes(context));
  await app.register(whatIfRoutes(context));
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/** What every route module gets. */
export type RouteContext = ApiDeps & { readonly csrf: TokensSimple };
