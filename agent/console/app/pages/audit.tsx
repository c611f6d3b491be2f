import { useState } from 'preact/hooks';
import { get } from '../api';
import type { AuditChange } from '../api';
import { useSession } from '../session';
import { Loading, PageHead, Problem, formatTime, useLoad } from '../ui';

const PAGE = 200;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One side of a change: each field on a line, those that differ from the other side marked. */
function Side({ value, other }: { value: unknown; other: unknown }) {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  if (!isRecord(value)) return <pre class="json">{JSON.stringify(value)}</pre>;
  const compared = isRecord(other);
  return (
    <dl class="json">
      {Object.entries(value).map(([key, field]) => {
        const changed = compared && JSON.stringify(field) !== JSON.stringify(other[key]);
        return (
          <div key={key} class={changed ? 'changed' : undefined}>
            <dt>{key}</dt>
            <dd>{JSON.stringify(field)}</dd>
          </div>
        );
      })}
    </dl>
  );
}

/** Audit: every change, whoever made it and from whichever face (CLI, console, API token), with before and after. */
export function AuditPage() {
  const session = useSession();
  const [limit, setLimit] = useState(PAGE);
  const changes = useLoad(() => get<{ changes: AuditChange[] }>('/v1/audit', { limit }), [limit]);
  return (
    <section>
      <PageHead title="Audit">Every change, newest first: who made it (a person, a token or the command line), when, and what it was before and after.</PageHead>
      {session.me.tenants !== null && <p class="notice">The audit trail spans every company, so only administrators see it.</p>}
      <Problem error={changes.error} what="The audit trail" />
      {changes.loading && !changes.data && <Loading what="Loading the audit trail" />}
      {changes.data && changes.data.changes.length === 0 && <p class="empty">No changes recorded yet.</p>}
      {changes.data && changes.data.changes.length > 0 && (
        <div class="table-wrap">
          <table class="audit stack">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Change</th>
                <th scope="col">Before</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {changes.data.changes.map((change) => (
                <tr key={change.id}>
                  <td data-label="When">
                    <time dateTime={new Date(change.at).toISOString()}>{formatTime(change.at)}</time>
                  </td>
                  <td data-label="Who">{change.actor}</td>
                  <td data-label="Change">
                    <strong>
                      {change.verb} {change.entity}
                    </strong>{' '}
                    <span class="muted">{change.key}</span>
                  </td>
                  <td data-label="Before">
                    <Side value={change.before} other={change.after} />
                  </td>
                  <td data-label="After">
                    <Side value={change.after} other={change.before} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {changes.data && changes.data.changes.length === limit && limit < 1000 && (
        <button type="button" onClick={() => setLimit(Math.min(1000, limit + PAGE))}>
          Show more
        </button>
      )}
    </section>
  );
}
