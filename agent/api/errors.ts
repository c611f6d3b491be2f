import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BadInput } from '../engine/bad-input';
import type { Logger } from '../log/logger';
import { Forbidden, NotFound } from '../operations/acting';
import { isStoreUnreachable } from '../store/postgres/connect-error';

/** Every error body the API sends: what went wrong and, for bad input, which field. */
export interface ErrorBody {
  readonly error: string;
  readonly field?: string;
}

/** Not signed in, or an unknown token: 401. */
export class Unauthenticated extends Error {
  override readonly name = 'Unauthenticated';
}

/** The field a schema check failed on: `/body/action` → `action`, a missing property → its name. */
function schemaField(error: FastifyError): string | undefined {
  const first = error.validation?.[0];
  if (!first) return undefined;
  const params = first.params as { missingProperty?: string; additionalProperty?: string } | undefined;
  const missing = params?.missingProperty ?? params?.additionalProperty;
  const path = first.instancePath.split('/').filter(Boolean).join('.');
  return missing ? [path, missing].filter(Boolean).join('.') : path || undefined;
}

/**
 * Bad input is a 400 naming the field, never a stack trace; a refusal is a 403; a fleet's
 * PostgreSQL out of reach a 503 (calls are still screened from each agent's local copy);
 * anything else is logged and answered 500 without its details.
 */
export function errorHandler(logger: Logger) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    if (error instanceof BadInput) {
      void reply.code(400).send({ error: error.message, ...(error.field ? { field: error.field } : {}) } satisfies ErrorBody);
    } else if (error.validation) {
      const field = schemaField(error);
      void reply.code(400).send({ error: `bad ${field ?? 'request'}: ${error.validation[0]?.message ?? error.message}`, ...(field ? { field } : {}) } satisfies ErrorBody);
    } else if (error instanceof Forbidden) {
      void reply.code(403).send({ error: error.message } satisfies ErrorBody);
    } else if (error instanceof NotFound) {
      void reply.code(404).send({ error: error.message } satisfies ErrorBody);
    } else if (error instanceof Unauthenticated) {
      void reply.code(401).send({ error: error.message } satisfies ErrorBody);
    } else if (isStoreUnreachable(error)) {
      logger.warn({ err: error, url: request.url, method: request.method }, 'API request failed: PostgreSQL cannot be reached');
      void reply.code(503).send({ error: 'the store (PostgreSQL) cannot be reached just now: try again in a moment' } satisfies ErrorBody);
    } else if (error.statusCode && error.statusCode < 500) {
      void reply.code(error.statusCode).send({ error: error.message } satisfies ErrorBody);
    } else {
      logger.error({ err: error, url: request.url, method: request.method }, 'API request failed');
      void reply.code(500).send({ error: 'internal error: see the agent log' } satisfies ErrorBody);
    }
  };
}
