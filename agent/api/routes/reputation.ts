import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { DEFAULT_SOURCE_TIMEOUT_MS, DEFAULT_SOURCE_WEIGHT, addSource, listSources, moveSource, removeSource } from '../../operations/reputation';
import type { Api, RouteContext } from '../server';
import { actingOf, backendsOf } from '../server';

const Source = Type.Object({
  name: Type.String({ description: 'a short slug; the score signal is reputation:<name>' }),
  position: Type.Integer({ description: 'its place in the order, 1 first' }),
  url: Type.String({ description: 'http(s) URL with {number} where the caller goes' }),
  timeoutMs: Type.Integer({ description: "how long a call waits for it (cut to fit the agent's decision limit)" }),
  weight: Type.Number({ description: 'the share of its 0-100 score added to the risk score' }),
});

/** How the agent's own lookups found a source (beside `serve`). */
const Health = Type.Object({
  state: Type.Union([Type.Literal('ok'), Type.Literal('timing_out'), Type.Literal('erroring'), Type.Literal('constant'), Type.Literal('unused')]),
  detail: Type.String(),
});

const Name = Type.String({ maxLength: 64 });

/** The reputation sources (administrators only: they serve every tenant, and a URL may hold a service's key). */
export function reputationRoutes({ store, reputationHealth }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.get(
      '/v1/reputation/sources',
      {
        schema: {
          summary: "The reputation sources, in order; beside `serve`, each with how the agent's lookups found it",
          response: { 200: Type.Object({ sources: Type.Array(Type.Intersect([Source, Type.Object({ health: Type.Optional(Health) })])) }) },
        },
      },
      async (request) => {
        const sources = await listSources(backendsOf(store, request), actingOf(request));
        const health = new Map((reputationHealth?.() ?? []).map(({ name, state, detail }) => [name, { state, detail }]));
        return { sources: sources.map((source) => ({ ...source, ...(health.has(source.name) && { health: health.get(source.name)! }) })) };
      },
    );
    app.post(
      '/v1/reputation/sources',
      {
        schema: {
          summary: 'Add a reputation source: asked with the others at once for a score 0-100 of a caller protection scores',
          body: Type.Object(
            {
              name: Name,
              url: Type.String({ maxLength: 4000, description: 'http(s) URL with {number}, e.g. https://rep.example/v1/score?number={number}' }),
              timeoutMs: Type.Optional(Type.Number({ description: `a whole number 10-10000 (default ${DEFAULT_SOURCE_TIMEOUT_MS})` })),
              weight: Type.Optional(Type.Number({ description: `0-1 (default ${DEFAULT_SOURCE_WEIGHT})` })),
              position: Type.Optional(Type.Number({ description: 'its place in the order, 1 first (default last)' })),
            },
            { additionalProperties: false },
          ),
          response: { 201: Source },
        },
      },
      async (request, reply) => reply.code(201).send(await addSource(backendsOf(store, request), actingOf(request), request.body)),
    );
    app.post(
      '/v1/reputation/sources/:name/move',
      {
        schema: {
          summary: 'Put a reputation source at another place in the order',
          params: Type.Object({ name: Name }),
          body: Type.Object({ position: Type.Number({ description: '1 first; past the end: last' }) }, { additionalProperties: false }),
          response: { 200: Source },
        },
      },
      async (request) => moveSource(backendsOf(store, request), actingOf(request), request.params.name, request.body.position),
    );
    app.delete(
      '/v1/reputation/sources/:name',
      { schema: { summary: 'Remove a reputation source; the later ones move up', params: Type.Object({ name: Name }), response: { 200: Type.Object({ removed: Source }) } } },
      async (request) => ({ removed: await removeSource(backendsOf(store, request), actingOf(request), request.params.name) }),
    );
  };
}
