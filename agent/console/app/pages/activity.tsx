import { useLocation } from 'preact-iso';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../api';
import type { Call, CallPage } from '../api';
import { useSession } from '../session';
import { ACTION_LABELS, ActionChip, Field, Loading, OUTCOME_LABELS, PageHead, Problem, fieldError, formError, formatTime, useLoad } from '../ui';

const PAGE_SIZE = 50;
const PERIODS = [
  ['', 'Any time'],
  ['1h', 'Last hour'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['custom', 'Between…'],
] as const;
const PERIOD_MS: Record<string, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };
const FILTERS = ['did', 'caller', 'action', 'outcome', 'period', 'from', 'to', 'rule'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

/** `datetime-local` text (the browser's time zone) → epoch ms; undefined when empty or unreadable. */
const localMs = (text: string | undefined) => {
  if (!text) return undefined;
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms : undefined;
};

/** The call log's query for these filters: a preset period counts back from now. */
function callQuery(filters: Filters, tenant: string | null, before: string | null) {
  const period = filters.period ?? '';
  const since = period && period !== 'custom' ? Date.now() - PERIOD_MS[period]! : period === 'custom' ? localMs(filters.from) : undefined;
  const until = period === 'custom' ? localMs(filters.to) : undefined;
  return { tenant, did: filters.did, caller: filters.caller, action: filters.action, outcome: filters.outcome, rule: filters.rule, since, until, before, limit: PAGE_SIZE };
}

export const timelineHref = (caller: string) => `/timeline/${encodeURIComponent(caller)}`;

/** The caller as the log has it: the number (opening the timeline), the name beside it as plain text. */
export function CallerCell({ call }: { call: Call }) {
  return (
    <div class="caller">
      {call.caller ? (
        <a href={timelineHref(call.caller)} class="caller-number" aria-label={`Timeline of ${call.caller}`}>
          {call.caller}
        </a>
      ) : (
        <span class="caller-number muted">{call.callerRaw || 'Anonymous'}</span>
      )}
      {call.callerName && <span class="caller-name">{call.callerName}</span>}
    </div>
  );
}

/**
 * What became of a call. A monitored call (its tenant in monitor mode) went through: its
 * decision shows as "Would block" and the outcome says it was let through; the detail
 * ("monitor mode: would have been block") would only repeat that, so it is kept to the tooltip.
 */
export function OutcomeText({ call }: { call: Call }) {
  if (!call.outcome) return <span class="muted">—</span>;
  const repeats = call.outcome === 'monitored';
  return (
    <span title={call.outcomeDetail ?? undefined}>
      {OUTCOME_LABELS[call.outcome] ?? call.outcome}
      {call.outcomeDetail && !repeats ? <small class="muted"> ({call.outcomeDetail})</small> : null}
    </span>
  );
}

/** Activity: every screened call and text, newest first, with filters and pages that stay fast on a large log. */
export function ActivityPage() {
  const session = useSession();
  const location = useLocation();
  const applied: Filters = Object.fromEntries(FILTERS.map((key) => [key, location.query[key]]).filter(([, value]) => value));
  const [draft, setDraft] = useState<Filters>(applied);
  const [cursors, setCursors] = useState<string[]>([]);
  const before = cursors[cursors.length - 1] ?? null;
  const appliedKey = JSON.stringify(applied);
  // New filters (or company) start from the first page; the form shows what is applied.
  const shown = useRef(`${appliedKey}|${session.tenant}`);
  useEffect(() => {
    const now = `${appliedKey}|${session.tenant}`;
    if (shown.current === now) return;
    shown.current = now;
    setDraft(applied);
    setCursors([]);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [appliedKey, session.tenant]);
  const page = useLoad(() => get<CallPage>('/v1/calls', callQuery(applied, session.tenant, before)), [appliedKey, session.tenant, before]);

  const apply = (event: Event) => {
    event.preventDefault();
    const query = new URLSearchParams(Object.entries(draft).filter(([key, value]) => value && (draft.period === 'custom' || (key !== 'from' && key !== 'to'))) as [string, string][]);
    const text = query.toString();
    location.route(`/activity${text ? `?${text}` : ''}`);
  };
  const set = (key: keyof Filters) => (event: { currentTarget: { value: string } }) => setDraft({ ...draft, [key]: event.currentTarget.value });
  const dids = session.dids();
  const filtered = Object.keys(applied).length > 0;
  const error = page.error;

  return (
    <section>
      <PageHead title="Activity">Every call and text screened{session.tenant ? ` for ${session.tenant}` : ''}, newest first. Open a caller to see their timeline and block them.</PageHead>
      <form class="filters card" onSubmit={apply} aria-label="Filter the call log">
        <Field label="DID" error={fieldError(error, 'did')}>
          {(props) =>
            dids.length > 0 ? (
              <select {...props} name="did" value={draft.did ?? ''} onChange={set('did')}>
                <option value="">Any DID</option>
                {dids.map((did) => (
                  <option key={did} value={did}>
                    {did}
                  </option>
                ))}
              </select>
            ) : (
              <input {...props} name="did" inputMode="tel" placeholder="any" value={draft.did ?? ''} onInput={set('did')} />
            )
          }
        </Field>
        <Field label="Caller" error={fieldError(error, 'caller')}>
          {(props) => <input {...props} name="caller" inputMode="tel" placeholder="number" value={draft.caller ?? ''} onInput={set('caller')} />}
        </Field>
        <Field label="Action" error={fieldError(error, 'action')}>
          {(props) => (
            <select {...props} name="action" value={draft.action ?? ''} onChange={set('action')}>
              <option value="">Any action</option>
              {Object.entries(ACTION_LABELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Outcome" error={fieldError(error, 'outcome')}>
          {(props) => (
            <select {...props} name="outcome" value={draft.outcome ?? ''} onChange={set('outcome')}>
              <option value="">Any outcome</option>
              {Object.entries(OUTCOME_LABELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Time" error={fieldError(error, 'since') ?? fieldError(error, 'until')}>
          {(props) => (
            <select {...props} name="period" value={draft.period ?? ''} onChange={set('period')}>
              {PERIODS.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        {draft.period === 'custom' && (
          <>
            <Field label="From">{(props) => <input {...props} type="datetime-local" name="from" value={draft.from ?? ''} onInput={set('from')} />}</Field>
            <Field label="To">{(props) => <input {...props} type="datetime-local" name="to" value={draft.to ?? ''} onInput={set('to')} />}</Field>
          </>
        )}
        <div class="filter-buttons">
          <button type="submit" class="primary">
            Apply filters
          </button>
          {filtered && (
            <a href="/activity" class="button">
              Clear
            </a>
          )}
        </div>
        {applied.rule && (
          <p class="filter-note">
            Showing what rule #{applied.rule} stopped. <a href="/activity">Show everything</a>
          </p>
        )}
      </form>
      {formError(error, ['did', 'caller', 'action', 'outcome', 'since', 'until']) && <Problem error={error} what="The call log" />}
      {page.loading && !page.data ? <Loading what="Loading calls" /> : null}
      {page.data && (
        <>
          <CallTable calls={page.data.calls} empty={filtered ? 'No calls match these filters.' : 'No calls logged yet. Calls appear here as the agent screens them.'} />
          <nav class="pager" aria-label="Pages of the call log">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
              ← Newer
            </button>
            <span class="muted">Page {cursors.length + 1}</span>
            <button type="button" disabled={!page.data.next} onClick={() => page.data?.next && setCursors([...cursors, page.data.next])}>
              Older →
            </button>
          </nav>
        </>
      )}
    </section>
  );
}

export function CallTable({ calls, empty }: { calls: readonly Call[]; empty: string }) {
  if (calls.length === 0) return <p class="empty">{empty}</p>;
  return (
    <div class="table-wrap">
      <table class="calls stack">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Caller</th>
            <th scope="col">To</th>
            <th scope="col">Decision</th>
            <th scope="col">Outcome</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {calls.map((call) => (
            <tr key={call.id} data-call={call.id} data-monitored={call.outcome === 'monitored' ? '' : undefined}>
              <td data-label="When">
                <time dateTime={new Date(call.at).toISOString()}>{formatTime(call.at)}</time>
                {call.kind === 'sms' && <span class="chip muted">text</span>}
                {call.pbx && <small class="muted block">via {call.pbx}</small>}
              </td>
              <td data-label="Caller">
                <CallerCell call={call} />
              </td>
              <td data-label="To">
                {call.did ?? <span class="muted">—</span>}
                <small class="muted block">{call.tenant}</small>
              </td>
              <td data-label="Decision">
                <ActionChip action={call.action} target={call.target} monitored={call.outcome === 'monitored'} />
                {call.flagged && <span class="chip warn">flagged</span>}
                {call.score !== null && <small class="muted block">risk {call.score}</small>}
              </td>
              <td data-label="Outcome">
                <OutcomeText call={call} />
              </td>
              <td data-label="Why" class="why">
                {call.reasons[call.reasons.length - 1] ?? ''}
                {call.ruleId !== null && <small class="muted block">rule #{call.ruleId}</small>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
