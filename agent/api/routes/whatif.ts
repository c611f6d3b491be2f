import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Acting } from '../../operations/acting';
import { whatIf } from '../../operations/whatif';
import type { Api, RouteContext } from '../server';
import { actingOf, backendsOf } from '../server';

const Verdict = Type.String({ description: 'an action, or flag: let through marked as suspected spam' });
const ChangedCall = Type.Object({
  id: Type.Integer(),
  at: Type.Integer(),
  tenant: Type.String(),
  did: Type.Union([Type.String(), Type.Null()]),
  caller: Type.Union([Type.String(), Type.Null()]),
  before: Verdict,
  after: Verdict,
  score: Type.Object({ before: Type.Union([Type.Number(), Type.Null()]), after: Type.Union([Type.Number(), Type.Null()]) }),
  outcome: Type.Union([Type.String(), Type.Null()]),
  risk: Type.Union([Type.String(), Type.Null()], { description: 'why a call now stopped had better not be: answered, passed a challenge, allowed by a rule' }),
});
const Report = Type.Object({
  period: Type.Object({ from: Type.Integer(), until: Type.Integer() }),
  tenant: Type.Union([Type.String(), Type.Null()]),
  changes: Type.Array(Type.String(), { description: 'each change tried, in words' }),
  calls: Type.Integer({ description: 'calls replayed' }),
  withoutFacts: Type.Integer({ description: 'of them, logged before every fact was kept (replayed with what the log has)' }),
  decidedOtherwiseSince: Type.Integer({ description: 'calls things as they are decide otherwise than the log says' }),
  changed: Type.Integer({ description: 'calls the change would have decided differently' }),
  transitions: Type.Array(
    Type.Object({ before: Verdict, after: Verdict, calls: Type.Integer(), where: Type.Array(Type.Object({ tenant: Type.String(), did: Type.Union([Type.String(), Type.Null()]), calls: Type.Integer() })) }),
  ),
  topCallers: Type.Array(Type.Object({ caller: Type.String(), calls: Type.Integer() })),
  atRisk: Type.Object({ calls: Type.Integer(), answered: Type.Integer(), passedChallenge: Type.Integer(), allowedByRule: Type.Integer(), list: Type.Array(ChangedCall) }),
  list: Type.Union([Type.Array(ChangedCall), Type.Null()]),
});

/**
 * Whoever may see calls may ask what a change would have done to them: the replay writes
 * nothing. The operation checks each part of the proposal as the command making it would
 * (may this asker change this tenant's protection, add this rule?), so a read-only asker is
 * asked about as if they could change what they see: the tenants they may see stay exactly
 * theirs, a tenant they may not see is still refused, and only an administrator (every
 * tenant) may try a global change.
 */
const asReader = (acting: Acting): Acting => ({ ...acting, mayChange: true });

/** What a proposed change would have done to the calls logged lately (callguard whatif): nothing is changed. */
export function whatIfRoutes({ store, country, callerIds }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.post(
      '/v1/whatif',
      {
        schema: {
          summary: 'Replay the calls of a period against a proposed change, without making it (as callguard whatif --json)',
          body: Type.Object(
            {
              since: Type.Optional(Type.String({ maxLength: 16, description: 'how far back: 7d unless given' })),
              tenant: Type.Optional(Type.String({ maxLength: 64, description: "only this tenant's calls; the settings tried are its own" })),
              protection: Type.Optional(Type.Union([Type.Literal('on'), Type.Literal('off')], { description: 'on: try the thresholds with protection on (needed while it is off); off: try it off' })),
              threshold: Type.Optional(Type.Integer({ description: 'protection threshold to try, a whole number 10-100' })),
              // `nullable`, not a union: the validator's type coercion would turn a null into 0 for the number branch.
              flagThreshold: Type.Optional(Type.Unsafe<number | null>({ type: 'integer', nullable: true, description: 'flag threshold to try, a whole number 0-100 at or below the threshold; null: never flag' })),
              categories: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 20, description: 'category=action, e.g. anonymous=block' })),
              add: Type.Optional(Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 100, description: "pattern=action, as 'rules add' takes them" })),
              remove: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 100, description: 'rule ids, e.g. #12' })),
              list: Type.Optional(Type.Boolean({ description: 'also list every call decided otherwise' })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Report },
        },
      },
      async (request) => whatIf(backendsOf(store, request), asReader(actingOf(request)), { ...request.body, flagThreshold: request.body.flagThreshold as number | null | undefined }, country, Date.now(), callerIds?.anonymous),
    );
  };
}
