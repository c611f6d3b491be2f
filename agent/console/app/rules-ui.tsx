/**
 * What the Blocked numbers and Addresses pages share: loading the rules that apply to the
 * picked company, the winning order, the add form with its scope picker, the rules table
 * with bulk delete and a row menu, and the edit form.
 */
import { Fragment } from 'preact';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { del, get, patch, post } from './api';
import type { Rule } from './api';
import type { Session } from './session';
import { useSession } from './session';
import { ACTION_LABELS, RULE_ACTION_LABELS, ActionChip, Done, Field, Loading, Problem, RowMenu, fieldError, formError, formatCount, formatTime, mayChangeScope, scopeLabel } from './ui';
import { WhatIfLine, atRiskWords, heldBack, useWhatIf } from './whatif-preview';
import type { WhatIfReport } from './whatif-preview';

/** How many rules each "Show more" brings. */
const PAGE = 100;

export interface WinningRules {
  readonly rules: readonly Rule[] | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  /** Whether more rules follow the ones shown. */
  readonly more: boolean;
  loadMore(): void;
  reload(): void;
}

/**
 * The rules of `kinds` that apply to the picked company's calls (or all the person sees),
 * in the order they win, as the agent orders them: the first page at once, more on demand.
 */
export function useWinningRules(kinds: readonly string[]): WinningRules {
  const session = useSession();
  const [shown, setShown] = useState<{ rules: Rule[]; next: string | null } | undefined>(undefined);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  const fetchPage = (after: string | null, before: Rule[]) => {
    const mine = ++latest.current;
    setLoading(true);
    get<{ rules: Rule[]; next: string | null }>('/v1/rules/winning-order', { tenant: session.tenant ?? undefined, kinds: kinds.join(','), after, limit: PAGE }).then(
      (page) => {
        if (mine !== latest.current) return;
        setShown({ rules: [...before, ...page.rules], next: page.next });
        setError(undefined);
        setLoading(false);
      },
      (caught: unknown) => {
        if (mine !== latest.current) return;
        setError(caught);
        setLoading(false);
      },
    );
  };
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => fetchPage(null, []), [session.tenant, session.tenants, round]);
  return {
    rules: shown?.rules,
    error,
    loading,
    more: shown?.next != null,
    loadMore: () => shown?.next != null && fetchPage(shown.next, shown.rules),
    reload: () => setRound((n) => n + 1),
  };
}

/** "Show more" under a table of rules in winning order, while more follow. */
interface WinningRulesListProps {
  readonly rules: WinningRules;
  /** What one rule is called in the caption: "address rule" → "The first 50 address rules". */
  readonly noun: string;
  /** What failed to load, for the problem line: "The address rules". */
  readonly what: string;
  readonly removeLabel: string;
  /** Besides reloading the list, after a rule is changed or removed. */
  readonly onChanged?: () => void;
  readonly extra?: RulesTableProps['extra'];
  readonly empty: string;
}

/** A page's rules in winning order: the table, its loading and problem lines, and more on demand. */
export function WinningRulesList({ rules, noun, what, removeLabel, onChanged, extra, empty }: WinningRulesListProps) {
  return (
    <>
      <Problem error={rules.error} what={what} />
      {rules.loading && !rules.rules && <Loading what="Loading rules" />}
      {rules.rules && (
        <>
          <RulesTable
            rules={rules.rules}
            caption={`${rules.more ? 'The first ' : ''}${rules.rules.length} ${noun}${rules.rules.length === 1 ? '' : 's'}`}
            removeLabel={removeLabel}
            onChanged={() => {
              rules.reload();
              onChanged?.();
            }}
            extra={extra}
            empty={empty}
          />
          <ShowMoreRules rules={rules} />
        </>
      )}
    </>
  );
}

function ShowMoreRules({ rules }: { rules: WinningRules }) {
  if (!rules.more) return null;
  return (
    <p class="show-more">
      <button type="button" onClick={rules.loadMore} disabled={rules.loading}>
        {rules.loading ? 'Loading…' : `Show ${PAGE} more`}
      </button>
    </p>
  );
}

type ScopeKind = 'did' | 'tenant' | 'global';

/** This DID / this company / all companies, with the DID or company chosen from those the person manages. */
export function ScopePicker({ value, onChange, error }: { value: string; onChange: (scope: string) => void; error?: string | undefined }) {
  const session = useSession();
  const admin = session.me.tenants === null;
  const manageable = session.tenants.filter((tenant) => admin || session.me.tenants!.includes(tenant.name)).filter((tenant) => session.tenant === null || tenant.name === session.tenant);
  const dids = manageable.flatMap((tenant) => tenant.dids);
  const kind: ScopeKind = value.startsWith('did:') ? 'did' : value.startsWith('tenant:') ? 'tenant' : 'global';
  const pick = (next: ScopeKind) => onChange(next === 'did' ? `did:${dids[0] ?? ''}` : next === 'tenant' ? `tenant:${manageable[0]?.name ?? ''}` : 'global');
  return (
    <fieldset class={`field scope-picker${error ? ' invalid' : ''}`}>
      <legend>Applies to</legend>
      <div class="radios">
        {dids.length > 0 && (
          <label class="check">
            <input type="radio" name="scope-kind" checked={kind === 'did'} onChange={() => pick('did')} /> This DID
          </label>
        )}
        {manageable.length > 0 && (
          <label class="check">
            <input type="radio" name="scope-kind" checked={kind === 'tenant'} onChange={() => pick('tenant')} /> This company
          </label>
        )}
        {admin && (
          <label class="check">
            <input type="radio" name="scope-kind" checked={kind === 'global'} onChange={() => pick('global')} /> All companies
          </label>
        )}
      </div>
      {kind === 'did' && (
        <select aria-label="DID" value={value.slice(4)} onChange={(e) => onChange(`did:${e.currentTarget.value}`)}>
          {dids.map((did) => (
            <option key={did} value={did}>
              {did} ({session.didOwner(did)})
            </option>
          ))}
        </select>
      )}
      {kind === 'tenant' && manageable.length > 1 && (
        <select aria-label="Company" value={value.slice(7)} onChange={(e) => onChange(`tenant:${e.currentTarget.value}`)}>
          {manageable.map((tenant) => (
            <option key={tenant.name} value={tenant.name}>
              {tenant.name}
            </option>
          ))}
        </select>
      )}
      {error && (
        <small class="field-error" role="alert">
          {error}
        </small>
      )}
    </fieldset>
  );
}

/** Where a new rule goes by default: the picked company, else all companies for an administrator, else the first company. */
export function defaultScope(session: Session): string {
  if (session.tenant !== null) return `tenant:${session.tenant}`;
  if (session.me.tenants === null) return 'global';
  return `tenant:${session.me.tenants[0] ?? ''}`;
}

const RULE_FIELDS = ['patterns', 'name', 'nameWord', 'action', 'to', 'scope', 'sms', 'note', 'list', 'expires', 'when', 'tz'];

export interface AddRuleFormProps {
  readonly title: string;
  readonly patternLabel: string;
  readonly patternHint: ComponentChildren;
  readonly placeholder: string;
  readonly actions: readonly string[];
  readonly withSms: boolean;
  readonly onAdded: (rules: Rule[]) => void;
  /** The form adds one caller-name rule (a glob, or whole words) instead of patterns. */
  readonly callerName?: boolean;
}

/** Add one rule or a comma list (all or none), with every option the CLI has; a refusal is shown beside its field. */
export function AddRuleForm(props: AddRuleFormProps) {
  const session = useSession();
  const [patterns, setPatterns] = useState('');
  const [nameField, setNameField] = useState<'name' | 'nameWord'>('name');
  const field = props.callerName ? nameField : 'patterns';
  const [action, setAction] = useState(props.actions[0]!);
  const [to, setTo] = useState('');
  const [scope, setScope] = useState(defaultScope(session));
  const [sms, setSms] = useState(true);
  const [note, setNote] = useState('');
  const [list, setList] = useState('');
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  // Another company picked: new rules go to it (not on the first showing, which may already have a choice).
  const company = useRef(session.tenant);
  useEffect(() => {
    if (company.current === session.tenant) return;
    company.current = session.tenant;
    setScope(defaultScope(session));
  }, [session.tenant]);

  // Before adding: how many of the last 7 days' calls the rule would have changed (a DID's rule is not previewed: whatif tries rules per tenant).
  const tried = !props.callerName && (scope === 'global' || scope.startsWith('tenant:'));
  const preview = useWhatIf(
    patterns.trim() && tried && !(action === 'forward' && !to)
      ? { add: [`${patterns}=${to && (action === 'forward' || action === 'voicemail') ? `${action}:${to}` : action}`], ...(scope.startsWith('tenant:') ? { tenant: scope.slice('tenant:'.length) } : {}) }
      : null,
  );

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone('');
    try {
      const body = {
        [field]: patterns,
        action,
        scope,
        ...(to && (action === 'forward' || action === 'voicemail') ? { to } : {}),
        ...(props.withSms ? { sms } : {}),
        ...(note ? { note } : {}),
        ...(list ? { list } : {}),
        ...(expires ? { expires } : {}),
      };
      const { rules } = await post<{ rules: Rule[] }>('/v1/rules', body);
      setDone(`Added ${rules.length === 1 ? `rule #${rules[0]!.id}` : `${rules.length} rules`} for ${scopeLabel(scope).toLowerCase()}.`);
      setPatterns('');
      setNote('');
      props.onAdded(rules);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card add-rule" onSubmit={submit} aria-label={props.title} data-write="">
      <h2>{props.title}</h2>
      <div class="grid">
        {props.callerName && (
          <Field label="Match">
            {(p) => (
              <select {...p} name="match" value={nameField} onChange={(e) => setNameField(e.currentTarget.value as 'name' | 'nameWord')}>
                <option value="name">The name (* is any run of characters)</option>
                <option value="nameWord">A whole word in the name</option>
              </select>
            )}
          </Field>
        )}
        <Field label={props.patternLabel} hint={props.patternHint} error={fieldError(error, field)} class="wide">
          {(p) => <input {...p} name={field} required placeholder={props.placeholder} value={patterns} onInput={(e) => setPatterns(e.currentTarget.value)} autocomplete="off" />}
        </Field>
        <Field label="Action" error={fieldError(error, 'action')}>
          {(p) => (
            <select {...p} name="action" value={action} onChange={(e) => setAction(e.currentTarget.value)}>
              {props.actions.map((value) => (
                <option key={value} value={value}>
                  {ACTION_LABELS[value] ?? value}
                </option>
              ))}
            </select>
          )}
        </Field>
        {(action === 'forward' || action === 'voicemail') && (
          <Field label={action === 'forward' ? 'Forward to' : 'Mailbox (optional)'} error={fieldError(error, 'to')}>
            {(p) => <input {...p} name="to" required={action === 'forward'} value={to} onInput={(e) => setTo(e.currentTarget.value)} />}
          </Field>
        )}
        <ScopePicker value={scope} onChange={setScope} error={fieldError(error, 'scope')} />
        {props.withSms && (
          <label class="check sms-toggle">
            <input type="checkbox" name="sms" checked={sms} onChange={(e) => setSms(e.currentTarget.checked)} /> Texts too
          </label>
        )}
        <Field label="Note" error={fieldError(error, 'note')}>
          {(p) => <input {...p} name="note" maxLength={1000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />}
        </Field>
        <Field label="List" hint="optional, e.g. spam-2024" error={fieldError(error, 'list')}>
          {(p) => <input {...p} name="list" maxLength={64} value={list} onInput={(e) => setList(e.currentTarget.value)} />}
        </Field>
        <Field label="Expires" hint="30d, 12h or a date; empty: never" error={fieldError(error, 'expires')}>
          {(p) => <input {...p} name="expires" maxLength={64} value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />}
        </Field>
      </div>
      <WhatIfLine preview={preview} describe={describeRule} />
      {formError(error, RULE_FIELDS) && <Problem error={error} />}
      <div class="buttons">
        <button type="submit" class="primary" disabled={busy}>
          {props.actions[0] === 'block' ? 'Block' : 'Add'}
        </button>
        <Done>{done}</Done>
      </div>
    </form>
  );
}

/** A new rule's effect on the last 7 days, in a sentence. */
function describeRule(report: WhatIfReport): string {
  if (report.changed === 0) return `Over the last 7 days (${formatCount(report.calls)} calls) this rule would have changed no call.`;
  const { more } = heldBack(report);
  return `Over the last 7 days this rule would have changed ${formatCount(report.changed)} of ${formatCount(report.calls)} calls${more ? `, stopping or holding back ${formatCount(more)} that went through` : ''}; ${atRiskWords(report)}.`;
}

interface RulesTableProps {
  readonly rules: readonly Rule[];
  readonly caption: string;
  readonly removeLabel: string;
  readonly onChanged: () => void;
  /** Extra row content (Addresses: View entries). */
  readonly extra?: (rule: Rule) => ComponentChildren;
  readonly empty: string;
}

/** The rules in winning order, with select-and-delete and a row menu to edit or remove. */
function RulesTable({ rules, caption, removeLabel, onChanged, extra, empty }: RulesTableProps) {
  const session = useSession();
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [editing, setEditing] = useState<number | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  // Rules gone after a reload leave the selection; a choice made meanwhile stays.
  useEffect(() => setSelected((current) => new Set([...current].filter((id) => rules.some((rule) => rule.id === id)))), [rules]);
  const changeable = (rule: Rule) => mayChangeScope(session.me, rule.scope, session.didOwner);
  const selectable = rules.filter(changeable);
  const toggle = (id: number) => {
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
    setConfirming(false);
  };
  const remove = async (ids: number[]) => {
    setError(undefined);
    setDone('');
    try {
      const { removed } = ids.length === 1 ? await del<{ removed: Rule[] }>(`/v1/rules/${ids[0]}`) : await post<{ removed: Rule[] }>('/v1/rules/bulk-delete', { ids });
      setDone(`Removed ${removed.length === 1 ? `rule #${removed[0]!.id} (${removed[0]!.pattern})` : `${removed.length} rules`}.`);
      setSelected(new Set());
      setConfirming(false);
      onChanged();
    } catch (caught) {
      setError(caught);
    }
  };
  if (rules.length === 0) return <p class="empty">{empty}</p>;
  const write = session.me.mayChange;
  const allSelected = selectable.length > 0 && selectable.every((rule) => selected.has(rule.id));
  return (
    <div class="rules-table">
      {write && selectable.length > 0 && (
        <div class="bulk-bar">
          <label class="check">
            <input type="checkbox" checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(selectable.map((rule) => rule.id)))} data-write="" /> Select all
          </label>
          {selected.size > 0 &&
            (confirming ? (
              <span class="confirm" role="group" aria-label="Confirm">
                Delete {selected.size} rule{selected.size === 1 ? '' : 's'}?{' '}
                <button type="button" class="danger" onClick={() => void remove([...selected])} data-write="">
                  Yes, delete
                </button>{' '}
                <button type="button" onClick={() => setConfirming(false)}>
                  Keep them
                </button>
              </span>
            ) : (
              <button type="button" class="danger" onClick={() => setConfirming(true)} data-write="">
                Delete selected ({selected.size})
              </button>
            ))}
        </div>
      )}
      <Problem error={error} />
      <Done>{done}</Done>
      <div class="table-wrap">
        <table class="rules stack">
          <caption>{caption}</caption>
          <thead>
            <tr>
              {write && <th scope="col" class="narrow"><span class="visually-hidden">Select</span></th>}
              <th scope="col" class="narrow" title="winning order">#</th>
              <th scope="col">Pattern</th>
              <th scope="col">Action</th>
              <th scope="col">Applies to</th>
              <th scope="col">Details</th>
              <th scope="col">Added</th>
              {write && <th scope="col" class="narrow"><span class="visually-hidden">Menu</span></th>}
            </tr>
          </thead>
          <tbody>
            {rules.map((rule, i) => (
              <Fragment key={rule.id}>
                <tr data-rule={rule.id}>
                  {write && (
                    <td class="narrow">
                      {changeable(rule) && <input type="checkbox" aria-label={`Select rule ${rule.pattern}`} checked={selected.has(rule.id)} onChange={() => toggle(rule.id)} data-write="" />}
                    </td>
                  )}
                  <td class="narrow muted" data-label="Order">
                    {i + 1}
                  </td>
                  <td data-label="Pattern">
                    <strong class="pattern">{rule.pattern}</strong>
                    <small class="muted block">{rule.kind === 'prefix' ? `starts with ${rule.key}` : rule.kind === 'number' ? (rule.key !== rule.pattern ? rule.key : 'number') : rule.kind === 'ip' ? 'IP address or range' : rule.kind === 'sip' ? 'SIP address' : rule.kind === 'name' ? 'caller name' : rule.kind === 'name_word' ? 'word in the caller name' : rule.kind}</small>
                  </td>
                  <td data-label="Action">
                    <ActionChip action={rule.action} target={rule.target} />
                    {rule.sms && <span class="chip muted">texts too</span>}
                  </td>
                  <td data-label="Applies to">{scopeLabel(rule.scope)}</td>
                  <td data-label="Details">
                    {rule.note && <span class="note">{rule.note}</span>}
                    {rule.list && <span class="chip info">list {rule.list}</span>}
                    {rule.expiresAt !== null && <small class="muted block">expires {formatTime(rule.expiresAt)}</small>}
                    {rule.when && <small class="muted block">only {rule.when}</small>}
                    {extra?.(rule)}
                  </td>
                  <td data-label="Added">
                    <small>{formatTime(rule.createdAt)}</small>
                  </td>
                  {write && (
                    <td class="narrow">
                      {changeable(rule) && (
                        <RowMenu
                          label={`Actions for ${rule.pattern}`}
                          items={[
                            { label: 'Edit', onSelect: () => setEditing(rule.id) },
                            { label: removeLabel, onSelect: () => void remove([rule.id]), danger: true },
                          ]}
                        />
                      )}
                    </td>
                  )}
                </tr>
                {editing === rule.id && (
                  <tr class="edit-row">
                    <td colSpan={write ? 8 : 6}>
                      <EditRule
                        rule={rule}
                        onClose={(saved) => {
                          setEditing(null);
                          if (saved) onChanged();
                        }}
                      />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** Edit a rule's action, texts, note, list and expiry (PATCH /v1/rules/{id}); its pattern and scope stay. */
function EditRule({ rule, onClose }: { rule: Rule; onClose: (saved: boolean) => void }) {
  const [action, setAction] = useState(rule.action);
  const [to, setTo] = useState(rule.target ?? '');
  const [sms, setSms] = useState(rule.sms);
  const [note, setNote] = useState(rule.note ?? '');
  const [list, setList] = useState(rule.list ?? '');
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const changes: Record<string, unknown> = {};
    if (action !== rule.action || to !== (rule.target ?? '')) {
      changes.action = action;
      if (to && (action === 'forward' || action === 'voicemail')) changes.to = to;
    }
    if (sms !== rule.sms) changes.sms = sms;
    if (note !== (rule.note ?? '')) changes.note = note;
    if (list !== (rule.list ?? '')) changes.list = list;
    if (expires) changes.expires = expires;
    try {
      if (Object.keys(changes).length > 0) await patch(`/v1/rules/${rule.id}`, changes);
      onClose(Object.keys(changes).length > 0);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };
  return (
    <form class="edit-rule" onSubmit={submit} aria-label={`Edit rule ${rule.pattern}`} data-write="">
      <div class="grid">
        <Field label="Action" error={fieldError(error, 'action')}>
          {(p) => (
            <select {...p} value={action} onChange={(e) => setAction(e.currentTarget.value)}>
              {RULE_ACTION_LABELS.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        {(action === 'forward' || action === 'voicemail') && <Field label={action === 'forward' ? 'Forward to' : 'Mailbox'} error={fieldError(error, 'to')}>{(p) => <input {...p} value={to} onInput={(e) => setTo(e.currentTarget.value)} />}</Field>}
        <label class="check">
          <input type="checkbox" checked={sms} onChange={(e) => setSms(e.currentTarget.checked)} /> Texts too
        </label>
        <Field label="Note" error={fieldError(error, 'note')}>{(p) => <input {...p} value={note} onInput={(e) => setNote(e.currentTarget.value)} />}</Field>
        <Field label="List" error={fieldError(error, 'list')}>{(p) => <input {...p} value={list} onInput={(e) => setList(e.currentTarget.value)} />}</Field>
        <Field label="New expiry" hint={rule.expiresAt ? `now ${formatTime(rule.expiresAt)}` : 'now never'} error={fieldError(error, 'expires')}>
          {(p) => <input {...p} value={expires} placeholder="30d" onInput={(e) => setExpires(e.currentTarget.value)} />}
        </Field>
      </div>
      {formError(error, ['action', 'to', 'sms', 'note', 'list', 'expires']) && <Problem error={error} what="Editing" />}
      <div class="buttons">
        <button type="submit" class="primary" disabled={busy}>
          Save rule
        </button>
        <button type="button" onClick={() => onClose(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
