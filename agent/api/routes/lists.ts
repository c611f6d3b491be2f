import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { listLists, setListEnabled } from '../../operations/rules';
import { exportListCsv, importRulesCsvText, parseImportFormat } from '../../operations/rules-csv';
import type { Api, RouteContext } from '../server';
import { actingOf } from '../server';

/** The largest CSV an import takes in one request (about a million rules). */
export const IMPORT_BODY_LIMIT = 50 * 1024 * 1024;

const List = Type.Object({
  name: Type.String(),
  enabled: Type.Boolean({ description: 'a disabled list keeps its rules, which take no part in decisions' }),
  rules: Type.Integer({ description: 'rules in the list that the asker sees (an administrator: all of them)' }),
  mayChange: Type.Boolean({ description: 'whether the asker may enable or disable it: every rule of the list is theirs to change' }),
});

const ListName = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64, description: "a list's name" }) });

/**
 * Named lists of rules (seed 003): their rule counts, enable and disable, and CSV import and
 * export in the format of `callguard rules import` and `rules export`.
 */
export function listRoutes({ store, country }: RouteContext): FastifyPluginAsync {
  return async (plain) => {
    const app = plain as unknown as Api;
    // Only the routes of this plugin take CSV, with a limit of their own.
    app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT }, (_request, body, done) => done(null, body));
    app.get(
      '/v1/lists',
      {
        schema: {
          summary:
            'Lists by name. An administrator sees every list (empty ones too) with all its rules; anyone else sees the lists holding rules they can see (global ones, their tenants\' and DIDs\'), counting only those',
          response: { 200: Type.Object({ lists: Type.Array(List) }) },
        },
      },
      async (request) => {
        const acting = actingOf(request);
        return { lists: await listLists(store.as(acting.actor).rules, acting, country) };
      },
    );
    app.put(
      '/v1/lists/:name',
      {
        schema: {
          summary: 'Enable or disable every rule of a list (audited). An administrator, or a manager only when every rule of the list is theirs to change (403 otherwise); 404 for a list the asker does not see',
          params: ListName,
          body: Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }),
          response: { 200: List },
        },
      },
      async (request) => {
        const acting = actingOf(request);
        const rules = store.as(acting.actor).rules;
        await setListEnabled(rules, acting, request.params.name, request.body.enabled, country);
        return (await listLists(rules, acting, country)).find((list) => list.name === request.params.name)!;
      },
    );
    app.get(
      '/v1/lists/:name/export',
      {
        schema: {
          summary: "The list's rules the asker sees, as CSV exactly as `callguard rules export --list <name>` writes it (header first, id order)",
          params: ListName,
          produces: ['text/csv'],
          response: { 200: { description: 'CSV: pattern,action,target,scope,sms,note,list,expires,when,tz', content: { 'text/csv': { schema: Type.String() } } } },
        },
      },
      async (request, reply) => {
        const acting = actingOf(request);
        const chunks = await exportListCsv(store.as(acting.actor).rules, acting, request.params.name, country);
        void reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${request.params.name}.csv"`);
        // A stream is sent as it is, never through the serializer: the schema above documents it.
        return reply.send(Readable.from(chunks) as unknown as string);
      },
    );
    app.post(
      '/v1/rules/import',
      {
        bodyLimit: IMPORT_BODY_LIMIT,
        schema: {
          summary:
            'Import rules from CSV (the export format, or FTC Do Not Call complaints), all or nothing: a bad row is a 400 whose `field` names its line (`line 7`, the first line being 1) and nothing is added. A manager may import into their own tenants\' scopes only',
          consumes: ['text/csv'],
          querystring: Type.Object(
            {
              action: Type.Optional(Type.String({ maxLength: 128, description: 'the action of every row (replaces the column)' })),
              scope: Type.Optional(Type.String({ maxLength: 128, description: 'the scope of every row (replaces the column)' })),
              list: Type.Optional(Type.String({ maxLength: 64, description: 'the list of every row (replaces the column)' })),
              format: Type.Optional(Type.String({ maxLength: 16, description: 'callguard (default: the export format) or ftc (Company_Phone_Number; list ftc-dnc, action block)' })),
            },
            { additionalProperties: false },
          ),
          body: Type.String({ description: `CSV (up to ${IMPORT_BODY_LIMIT / 1024 / 1024} MB): a header naming the columns pattern,action,target,scope,sms,note,list,expires,when,tz, or those columns in that order, or one pattern per line` }),
          response: {
            200: Type.Object({
              imported: Type.Integer({ description: 'rules written (a rule for the same match and scope is replaced)' }),
              skipped: Type.Integer({ description: 'FTC rows without a new, complete number' }),
            }),
          },
        },
      },
      async (request) => {
        const { action, scope, list, format } = request.query;
        const acting = actingOf(request);
        const result = await importRulesCsvText(store.as(acting.actor).rules, acting, request.body, { action, scope, list }, country, { format: parseImportFormat(format), label: 'import over the API' });
        return { imported: result.rows, skipped: result.skipped };
      },
    );
  };
}
