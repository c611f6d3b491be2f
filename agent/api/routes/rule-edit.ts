import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { editRule } from '../../operations/rules';
import type { Api, RouteContext } from '../server';
import { actingOf, backendsOf } from '../server';
import { Rule } from './rules';

/** What a rule edit may change, as JSON: what the rule does, never what it matches or its scope. */
const RuleChanges = Type.Object(
  {
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'allow, block, challenge, busy, disconnected, voicemail[:box] or forward[:number]; a new action drops the old target unless `to` gives one' })),
    to: Type.Optional(Type.String({ maxLength: 64, description: 'forward number, or voicemail box; alone, it changes the target of the action the rule has' })),
    sms: Type.Optional(Type.Boolean({ description: 'the rule also stops texts' })),
    note: Type.Optional(Type.String({ maxLength: 1000, description: 'a note for people; "" removes it' })),
    list: Type.Optional(Type.String({ maxLength: 64, description: 'put the rule in this list (made if new); "" takes it out of its list' })),
    expires: Type.Optional(Type.String({ maxLength: 64, description: 'a duration from now (30d, 12h) or an ISO date; "" makes the rule permanent' })),
    when: Type.Optional(Type.String({ maxLength: 500, description: 'weekly windows, e.g. mon-fri 09:00-17:00 (the zone kept unless `tz` is given); "" makes the rule apply always' })),
    tz: Type.Optional(Type.String({ maxLength: 64, description: 'IANA time zone of the window' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** Edit one rule: the row menu's "edit" on the blocked-numbers page. */
export function ruleEditRoutes({ store, country }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    app.patch(
      '/v1/rules/:id',
      {
        schema: {
          summary: "Change what a rule does (checked as adding one is; audited with before and after). 404: not a rule the asker sees; 403: not theirs to change",
          params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1 }) }),
          body: RuleChanges,
          response: { 200: Rule },
        },
      },
      async (request) => editRule(backendsOf(store, request).rules, actingOf(request), request.params.id, request.body, country),
    );
  };
}
