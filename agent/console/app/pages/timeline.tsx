import { useState } from 'preact/hooks';
import { del, get, post } from '../api';
import type { Call, CallPage, Decision, Rule } from '../api';
import { useSession } from '../session';
import { ACTION_LABELS, ActionChip, Done, Field, Loading, PageHead, Problem, fieldError, formError, formatTime, mayChangeScope, scopeLabel, useLoad } from '../ui';
import { OutcomeText } from './activity';

const BLOCK_ACTIONS = ['block', 'challenge', 'busy', 'disconnected', 'voicemail'] as const;

/** One caller's timeline: every call and text from the number, with the decision, its reasons and the outcome. */
export function TimelinePage({ caller: encoded }: { caller: string }) {
  const caller = decodeURIComponent(encoded);
  const session = useSession();
  const [older, setOlder] = useState<Call[]>([]);
  const [next, setNext] = useState<string | null | undefined>(undefined);
  const page = useLoad(async () => {
    const first = await get<CallPage>('/v1/calls', { caller, tenant: session.tenant, limit: 100 });
    setOlder([]);
    setNext(first.next);
    return first;
  }, [caller, session.tenant]);
  const calls = page.data ? [...page.data.calls, ...older] : [];
  const newest = calls[0];
  const loadOlder = async () => {
    if (!next) return;
    const more = await get<CallPage>('/v1/calls', { caller, tenant: session.tenant, limit: 100, before: next });
    setOlder([...older, ...more.calls]);
    setNext(more.next);
  };

  return (
    <section>
      <PageHead title={`Timeline of ${caller}`}>
        <a href="/activity">← Activity</a>
        {newest?.callerName ? (
          <>
            {' '}
            · Calling name <span class="caller-name">{newest.callerName}</span>
          </>
        ) : null}
      </PageHead>
      {newest && newest.did && <BlockPanel caller={caller} call={newest} />}
      <Problem error={page.error} what="The timeline" />
      {page.loading && !page.data && <Loading what="Loading the timeline" />}
      {page.data && calls.length === 0 && <p class="empty">No calls or texts from {caller}{session.tenant ? ` to ${session.tenant}` : ''}.</p>}
      <ol class="timeline">
        {calls.map((call) => (
          <li key={call.id} class="card event" data-call={call.id}>
            <div class="event-head">
              <time dateTime={new Date(call.at).toISOString()}>{formatTime(call.at)}</time>
              <span class="chip muted">{call.kind === 'sms' ? 'Text' : 'Call'}</span>
              <span>
                to {call.did ?? '—'} <small class="muted">({call.tenant})</small>
              </span>
              {call.pbx && <span class="muted">via {call.pbx}</span>}
            </div>
            {call.callerName && (
              <p class="event-name">
                Name: <span class="caller-name">{call.callerName}</span>
              </p>
            )}
            <div class="event-decision">
              <ActionChip action={call.action} target={call.target} monitored={call.outcome === 'monitored'} />
              {call.flagged && <span class="chip warn">flagged as suspected spam</span>}
              {call.score !== null && <span class="muted">risk score {call.score}</span>}
              {call.category && <span class="muted">category {call.category}</span>}
              {call.ruleId !== null && <span class="muted">rule #{call.ruleId}</span>}
              <CalledOn reasons={call.reasons} />
              <span>
                Outcome: <OutcomeText call={call} />
              </span>
            </div>
            {call.reasons.length > 0 && (
              <details>
                <summary>Why ({call.reasons.length} steps)</summary>
                <ol class="reasons">
                  {call.reasons.map((reason, i) => (
                    <li key={i}>{reason}</li>
                  ))}
                </ol>
              </details>
            )}
          </li>
        ))}
      </ol>
      {next && (
        <button type="button" onClick={() => void loadOlder()}>
          Older calls
        </button>
      )}
    </section>
  );
}

/** A callback: when the company had called this number, as the engine's reason says (agent/engine/trusted-callback.ts). */
function CalledOn({ reasons }: { reasons: readonly string[] }) {
  const match = reasons.map((reason) => /^You called this number on (\S+) \(/.exec(reason)).find((found) => found !== null);
  return match ? <span class="muted">you called this number on {formatTime(Date.parse(match[1]!))}</span> : null;
}

/** Block number (with the action and "every company I can manage"), or Unblock when a rule stops this caller now. */
function BlockPanel({ caller, call }: { caller: string; call: Call }) {
  const session = useSession();
  const [action, setAction] = useState<string>('block');
  const [everywhere, setEverywhere] = useState(false);
  const [sms, setSms] = useState(true);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>('');
  const [busy, setBusy] = useState(false);
  const decision = useLoad(() => get<Decision>('/v1/explain', { from: caller, to: call.did!, name: undefined }), [caller, call.did]);
  const tenant = session.tenant ?? call.tenant;
  const stopping = decision.data && decision.data.ruleId !== null && decision.data.action !== 'allow' ? decision.data : null;
  const mayUnblock = stopping?.scope ? mayChangeScope(session.me, stopping.scope, session.didOwner) : false;
  const manageable = session.me.tenants === null ? null : session.me.tenants;

  const block = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone('');
    try {
      const scopes = !everywhere ? [`tenant:${tenant}`] : manageable === null ? ['global'] : manageable.map((name) => `tenant:${name}`);
      const made: Rule[] = [];
      for (const scope of scopes) made.push(...(await post<{ rules: Rule[] }>('/v1/rules', { patterns: caller, action, scope, sms, note: `blocked from the timeline (call ${call.id})` })).rules);
      setDone(`${ACTION_LABELS[action]}: ${made.map((rule) => `rule #${rule.id} for ${scopeLabel(rule.scope).toLowerCase()}`).join(', ')}.`);
      decision.reload();
      session.refreshTenants();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const unblock = async () => {
    if (!stopping?.ruleId) return;
    setBusy(true);
    setError(undefined);
    try {
      await del(`/v1/rules/${stopping.ruleId}`);
      setDone(`Unblocked: rule #${stopping.ruleId} removed.`);
      decision.reload();
      session.refreshTenants();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="card block-panel">
      <p class="status-line">
        {decision.data ? (
          stopping ? (
            <>
              Calls from {caller} to {call.did} now: <ActionChip action={stopping.action} /> by rule #{stopping.ruleId} ({scopeLabel(stopping.scope ?? '')}).
            </>
          ) : (
            <>
              Calls from {caller} to {call.did} now: <ActionChip action={decision.data.action} target={decision.data.target} />
              {decision.data.ruleId === null ? ' (no rule for this number)' : ` by rule #${decision.data.ruleId}`}
            </>
          )
        ) : decision.error ? (
          <Problem error={decision.error} what="What happens to this caller now" />
        ) : (
          'Checking what happens to this caller now…'
        )}
      </p>
      {session.me.mayChange && (
        <>
          {stopping && mayUnblock && (
            <button type="button" class="danger" disabled={busy} onClick={() => void unblock()} data-write="">
              Unblock
            </button>
          )}
          <form class="inline-form" onSubmit={block} aria-label={`Block ${caller}`}>
            <Field label="Action" error={fieldError(error, 'action')}>
              {(props) => (
                <select {...props} name="action" value={action} onChange={(e) => setAction(e.currentTarget.value)} data-write="">
                  {BLOCK_ACTIONS.map((value) => (
                    <option key={value} value={value}>
                      {ACTION_LABELS[value]}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <label class="check">
              <input type="checkbox" checked={sms} onChange={(e) => setSms(e.currentTarget.checked)} data-write="" /> Texts too
            </label>
            <label class="check">
              <input type="checkbox" checked={everywhere} onChange={(e) => setEverywhere(e.currentTarget.checked)} data-write="" /> Block in every company I can manage
            </label>
            <button type="submit" class="primary" disabled={busy} data-write="">
              Block number
            </button>
          </form>
          {fieldError(error, 'patterns') && (
            <p class="problem" role="alert">
              {fieldError(error, 'patterns')}
            </p>
          )}
          {formError(error, ['action', 'patterns']) && <Problem error={error} />}
          <Done>{done}</Done>
        </>
      )}
    </div>
  );
}
