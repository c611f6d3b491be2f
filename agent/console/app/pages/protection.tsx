import { useEffect, useRef, useState } from 'preact/hooks';
import { del, get, post, put } from '../api';
import type { Rule } from '../api';
import { HourlyChart } from '../chart';
import type { HourBucket } from '../chart';
import { useSession } from '../session';
import { Chip, Done, Field, Loading, PageHead, Problem, fieldError, formError, formatCount, scopeLabel, useLoad } from '../ui';
import { ReputationSources } from '../reputation-sources';
import { WhatIfLine, atRiskWords, useWhatIf } from '../whatif-preview';
import type { WhatIfReport } from '../whatif-preview';

interface Protection {
  readonly tenant: string | null;
  readonly enabled: boolean;
  readonly threshold: number;
  readonly flagThreshold: number | null;
  readonly action: string;
  readonly from: string;
  readonly own: boolean;
}

const DEFAULT_THRESHOLD = 70;
/** Without a flag threshold of its own, flagging starts this far below the threshold (as the agent does). */
const FLAG_BELOW = 20;

/** Robocall protection (seed 004's page): the toggle, the threshold, allow list, carrier blocklist, impact and chart. */
export function ProtectionPage() {
  const session = useSession();
  const loaded = useLoad(() => get<Protection>('/v1/protection', { tenant: session.tenant }), [session.tenant]);
  const enabled = loaded.data?.enabled;
  return (
    <section>
      <PageHead
        title="Robocall protection"
        actions={enabled === undefined ? null : enabled ? <Chip tone="good">Active</Chip> : <Chip tone="muted">Disabled</Chip>}
      >
        Scores every call that no rule decided and stops those likely to be robocalls{session.tenant ? ` for ${session.tenant}` : ''}. Allowed numbers skip it; carrier rules stop calls before scoring.
      </PageHead>
      <Problem error={loaded.error} what="Protection settings" />
      {loaded.loading && !loaded.data && <Loading what="Loading protection" />}
      {loaded.data && <Settings setting={loaded.data} onSaved={loaded.reload} />}
      <div class="cards-2">
        <AllowList />
        <Carriers />
      </div>
      {session.me.tenants === null && <ReputationSources />}
      <Impact />
    </section>
  );
}

function Settings({ setting, onSaved }: { setting: Protection; onSaved: () => void }) {
  const session = useSession();
  const [threshold, setThreshold] = useState(setting.threshold);
  const [flag, setFlag] = useState<number | null>(setting.flagThreshold);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const [flagSet, setFlagSet] = useState(false);
  // The switch moves at once; it moves back if the agent refuses.
  const [enabled, setEnabled] = useState(setting.enabled);
  const following = setting.flagThreshold === Math.max(0, setting.threshold - FLAG_BELOW);
  // What the agent answered changed (saved here, or elsewhere): the form starts from it again.
  const answered = useRef(JSON.stringify(setting));
  useEffect(() => {
    const now = JSON.stringify(setting);
    if (answered.current === now) return;
    answered.current = now;
    setThreshold(setting.threshold);
    setFlag(setting.flagThreshold);
    setFlagSet(false);
    setEnabled(setting.enabled);
  }, [setting]);
  // A manager changes their company's own setting; the global one is for administrators.
  const mayEdit = session.me.mayChange && (session.tenant !== null || session.me.tenants === null);
  const unsaved = threshold !== setting.threshold || flag !== setting.flagThreshold;
  const tenantPart = session.tenant !== null ? { tenant: session.tenant } : {};
  // Before Save: what the new values would have done to the last 7 days' calls; while
  // protection is off, what they would have done with it on. A value the agent would refuse
  // (a flag threshold above the threshold) is not asked about: Save says what is wrong.
  const off = !setting.enabled;
  const askable = flag === null || (Number.isInteger(flag) && flag >= 0 && flag <= threshold);
  const preview = useWhatIf(unsaved && mayEdit && askable ? { ...tenantPart, ...(off ? { protection: 'on' } : {}), threshold, flagThreshold: flag } : null);

  const save = async (body: Record<string, unknown>, message: string) => {
    setBusy(true);
    setError(undefined);
    setDone('');
    try {
      await put('/v1/protection', { ...tenantPart, ...body });
      setDone(message);
      onSaved();
    } catch (caught) {
      setError(caught);
      setEnabled(setting.enabled);
    } finally {
      setBusy(false);
    }
  };
  const inherited = session.tenant !== null && !setting.own;
  return (
    <div class="card protection">
      <div class="toggle-row">
        <label class="switch">
          <input
            type="checkbox"
            role="switch"
            checked={enabled}
            disabled={!mayEdit || busy}
            onChange={(e) => {
              const on = e.currentTarget.checked;
              setEnabled(on);
              void save({ enabled: on }, on ? 'Protection is on.' : 'Protection is off.');
            }}
            {...(mayEdit ? { 'data-write': '' } : {})}
          />
          <span class="slider" aria-hidden="true" />
          <span>Protection</span>
        </label>
        {enabled ? <Chip tone="good">Active</Chip> : <Chip tone="muted">Disabled</Chip>}
        <small class="muted">
          {inherited ? `Follows the ${setting.from === 'default' ? 'default (off)' : 'global setting'} until you change it here.` : setting.from === 'default' ? 'Off by default.' : `Set for ${scopeLabel(setting.from).toLowerCase()}.`}
        </small>
      </div>
      {!mayEdit && session.me.mayChange && <p class="hint">Pick a company to change its protection.</p>}
      {enabled === setting.enabled && (
        <form
          class="threshold"
          onSubmit={(event) => {
            event.preventDefault();
            void save({ threshold, flagThreshold: flag }, `Saved: threshold ${threshold}.`);
          }}
          aria-label="Risk threshold"
        >
          {unsaved && (
            <p class="banner amber" role="status">
              Unsaved changes
            </p>
          )}
          {off && (
            <p class="hint off-note">
              Protection is off: the threshold is kept for when it is turned on.{mayEdit && ' Move it to see what it would have done to the last 7 days’ calls.'}
            </p>
          )}
          <div class="threshold-row">
            <label for="threshold">Risk threshold</label>
            <input
              id="threshold"
              type="range"
              min={10}
              max={100}
              step={1}
              value={threshold}
              disabled={!mayEdit}
              aria-describedby="threshold-hint"
              aria-invalid={fieldError(error, 'threshold') ? 'true' : undefined}
              onInput={(e) => {
                const value = Number(e.currentTarget.value);
                setThreshold(value);
                // A flag threshold that followed the threshold (20 below) keeps following it until set by hand.
                if (!flagSet && following) setFlag(Math.max(0, value - FLAG_BELOW));
              }}
              {...(mayEdit ? { 'data-write': '' } : {})}
            />
            <output for="threshold" class="value" aria-live="polite">
              {threshold}
            </output>
            {mayEdit && (
              <button type="submit" class="primary" disabled={busy || !unsaved} data-write="">
                Save
              </button>
            )}
          </div>
          <WhatIfLine preview={preview} describe={(report) => describeThreshold(report, off)} />
          <small id="threshold-hint" class="hint">
            Calls scoring {threshold} or more are stopped. Lower blocks more; very low values can stop real callers. Start around 60–70 (default {DEFAULT_THRESHOLD}).
          </small>
          {fieldError(error, 'threshold') && (
            <small class="field-error" role="alert">
              {fieldError(error, 'threshold')}
            </small>
          )}
          <Field label="Flag from" hint="calls scoring this or more (below the threshold) go through marked as suspected spam" error={fieldError(error, 'flagThreshold')}>
            {(p) => (
              <div class="flag-row">
                <input
                  {...p}
                  type="number"
                  inputMode="numeric"
                  value={flag ?? ''}
                  disabled={!mayEdit || flag === null}
                  onInput={(e) => {
                    setFlagSet(true);
                    setFlag(e.currentTarget.value === '' ? null : Number(e.currentTarget.value));
                  }}
                  {...(mayEdit ? { 'data-write': '' } : {})}
                />
                <label class="check">
                  <input type="checkbox" checked={flag === null} disabled={!mayEdit} onChange={(e) => {
                    setFlagSet(true);
                    setFlag(e.currentTarget.checked ? null : Math.max(0, threshold - FLAG_BELOW));
                  }} {...(mayEdit ? { 'data-write': '' } : {})} />{' '}
                  never flag
                </label>
              </div>
            )}
          </Field>
        </form>
      )}
      {formError(error, ['threshold', 'flagThreshold']) && <Problem error={error} what="Saving" />}
      <Done>{done}</Done>
    </div>
  );
}

/** Verdicts that let a call through (flag: marked as suspected spam). */
const THROUGH = new Set(['allow', 'flag']);

/**
 * What new thresholds change, call by call: how many more and fewer calls would have been
 * stopped (or challenged, or sent to voicemail: the protection action) and flagged. A call
 * once flagged and now stopped counts in both: one more stopped, one fewer flagged.
 */
function thresholdEffect(report: WhatIfReport): { stoppedMore: number; stoppedFewer: number; flaggedMore: number; flaggedFewer: number } {
  const effect = { stoppedMore: 0, stoppedFewer: 0, flaggedMore: 0, flaggedFewer: 0 };
  for (const { before, after, calls } of report.transitions) {
    if (THROUGH.has(before) && !THROUGH.has(after)) effect.stoppedMore += calls;
    if (!THROUGH.has(before) && THROUGH.has(after)) effect.stoppedFewer += calls;
    if (before !== 'flag' && after === 'flag') effect.flaggedMore += calls;
    if (before === 'flag' && after !== 'flag') effect.flaggedFewer += calls;
  }
  return effect;
}

/** New thresholds' effect on the last 7 days, in a sentence; `off`: protection is off, and the replay tried it on. */
function describeThreshold(report: WhatIfReport, off: boolean): string {
  const lead = off ? 'With protection turned on (it is off now), over the last 7 days' : 'Over the last 7 days';
  if (report.changed === 0) return `${lead} (${formatCount(report.calls)} calls) this would have changed nothing.`;
  const { stoppedMore, stoppedFewer, flaggedMore, flaggedFewer } = thresholdEffect(report);
  const parts = [
    stoppedMore && `${formatCount(stoppedMore)} more stopped or challenged`,
    stoppedFewer && `${formatCount(stoppedFewer)} fewer stopped or challenged`,
    flaggedMore && `${formatCount(flaggedMore)} more flagged`,
    flaggedFewer && `${formatCount(flaggedFewer)} fewer flagged`,
  ].filter(Boolean);
  if (parts.length === 0) parts.push(`${formatCount(report.changed)} handled otherwise`);
  return `${lead} (${formatCount(report.calls)} calls): ${parts.join(', ')}; ${atRiskWords(report)}.`;
}

/** The allow list card: numbers that bypass scoring and blocking (allow rules). */
function AllowList() {
  const session = useSession();
  const loaded = useLoad(() => get<{ entries: Rule[]; next: number | null }>('/v1/allow-list', { tenant: session.tenant, limit: 200 }), [session.tenant]);
  const [number, setNumber] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const mayEdit = session.me.mayChange && (session.tenant !== null || session.me.tenants === null);
  const add = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setDone('');
    try {
      const { entries } = await post<{ entries: Rule[] }>('/v1/allow-list', { number, ...(session.tenant !== null ? { tenant: session.tenant } : {}), ...(note ? { note } : {}) });
      setDone(`Allowed ${entries.map((entry) => entry.pattern).join(', ')}.`);
      setNumber('');
      setNote('');
      loaded.reload();
    } catch (caught) {
      setError(caught);
    }
  };
  const remove = async (rule: Rule) => {
    setError(undefined);
    try {
      await del(`/v1/allow-list/${rule.id}`);
      setDone(`Removed ${rule.pattern} from the allow list.`);
      loaded.reload();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <section class="card allow-list" aria-labelledby="allow-heading">
      <h2 id="allow-heading">Allow list</h2>
      <p class="hint">Numbers here always get through: no rule, category, carrier rule or risk score stops them.</p>
      {mayEdit && !loaded.error && (
        <form class="inline-form" onSubmit={add} aria-label="Add to the allow list" data-write="">
          <Field label="Number" error={fieldError(error, 'number')}>
            {(p) => <input {...p} name="number" required inputMode="tel" placeholder="+12125551234" value={number} onInput={(e) => setNumber(e.currentTarget.value)} />}
          </Field>
          <Field label="Note" error={fieldError(error, 'note')}>
            {(p) => <input {...p} name="note" value={note} onInput={(e) => setNote(e.currentTarget.value)} />}
          </Field>
          <button type="submit" class="primary">
            Add
          </button>
        </form>
      )}
      {formError(error, ['number', 'note']) && <Problem error={error} />}
      <Done>{done}</Done>
      <Problem error={loaded.error} what="The allow list" />
      {loaded.data && loaded.data.entries.length === 0 && <p class="empty">No numbers allowed yet.</p>}
      {loaded.data && loaded.data.entries.length > 0 && (
        <ul class="plain-list">
          {loaded.data.entries.map((rule) => (
            <li key={rule.id} data-allow={rule.id}>
              <span>
                <strong class="pattern">{rule.pattern}</strong> <small class="muted">{scopeLabel(rule.scope)}</small>
                {rule.note && <small class="note block">{rule.note}</small>}
              </span>
              {session.me.mayChange && (session.me.tenants === null || rule.scope !== 'global') && (
                <button type="button" class="small" onClick={() => void remove(rule)} aria-label={`Remove ${rule.pattern} from the allow list`} data-write="">
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {loaded.data?.next && <p class="hint">More entries: see Blocked numbers, action Allow.</p>}
    </section>
  );
}

interface CarrierRule {
  readonly id: number;
  readonly scope: string;
  readonly pattern: string;
}

/** The carrier blocklist card: part of a carrier name, matched without regard to case. */
function Carriers() {
  const session = useSession();
  const loaded = useLoad(() => get<{ carriers: CarrierRule[] }>('/v1/carriers', { tenant: session.tenant }), [session.tenant]);
  const [pattern, setPattern] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const mayEdit = session.me.mayChange && (session.tenant !== null || session.me.tenants === null);
  const add = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setDone('');
    try {
      const made = await post<CarrierRule>('/v1/carriers', { pattern, scope: session.tenant !== null ? `tenant:${session.tenant}` : 'global' });
      setDone(`Calls from carriers named like “${made.pattern}” are now rejected while protection is on.`);
      setPattern('');
      loaded.reload();
    } catch (caught) {
      setError(caught);
    }
  };
  const remove = async (rule: CarrierRule) => {
    setError(undefined);
    try {
      await del(`/v1/carriers/${rule.id}`);
      setDone(`Removed carrier rule “${rule.pattern}”.`);
      loaded.reload();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <section class="card carriers" aria-labelledby="carriers-heading">
      <h2 id="carriers-heading">Carrier blocklist</h2>
      <p class="hint">Rejects calls whose carrier name contains the text, in any case: “bandwidth” also matches “Bandwidth, Inc.”.</p>
      <p class="warning" role="note">
        Matching is broad by design: a short or common term (“voip”, “inc”) blocks real callers too. Use the most specific part of the name.
      </p>
      {mayEdit && !loaded.error && (
        <form class="inline-form" onSubmit={add} aria-label="Add a carrier rule" data-write="">
          <Field label="Carrier name contains" error={fieldError(error, 'pattern')}>
            {(p) => <input {...p} name="pattern" required placeholder="VoIP Innovations" value={pattern} onInput={(e) => setPattern(e.currentTarget.value)} />}
          </Field>
          <button type="submit" class="primary">
            Add
          </button>
        </form>
      )}
      {formError(error, ['pattern']) && <Problem error={error} />}
      <Done>{done}</Done>
      <Problem error={loaded.error} what="The carrier blocklist" />
      {loaded.data && loaded.data.carriers.length === 0 && <p class="empty">No carrier rules.</p>}
      {loaded.data && loaded.data.carriers.length > 0 && (
        <ul class="plain-list">
          {loaded.data.carriers.map((rule) => (
            <li key={rule.id} data-carrier={rule.id}>
              <span>
                <strong>{rule.pattern}</strong> <small class="muted">{scopeLabel(rule.scope)}</small>
              </span>
              {session.me.mayChange && (session.me.tenants === null || rule.scope !== 'global') && (
                <button type="button" class="small" onClick={() => void remove(rule)} aria-label={`Remove carrier rule ${rule.pattern}`} data-write="">
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

interface Counters {
  readonly total: number;
  readonly scanned: number;
  readonly blocked: number;
  readonly flagged: number;
  readonly legitimate: number;
  /** Let through by monitor mode, which would have stopped them (absent from an older agent). */
  readonly wouldBlock?: number;
}

const PERIODS = [
  ['24h', 'Last 24 hours', 24],
  ['7d', 'Last 7 days', 168],
] as const;

/** The five impact cards for a period, and calls per hour by outcome, to judge a threshold change before and after. */
function Impact() {
  const session = useSession();
  const [period, setPeriod] = useState<'24h' | '7d'>('24h');
  const hours = PERIODS.find(([key]) => key === period)![2];
  const counters = useLoad(() => get<Counters>('/v1/stats', { tenant: session.tenant, since: period }), [session.tenant, period]);
  const hourly = useLoad(() => get<{ buckets: HourBucket[] }>('/v1/stats/hourly', { tenant: session.tenant, hours }), [session.tenant, hours]);
  const cards: [Exclude<keyof Counters, 'wouldBlock'>, string, string][] = [
    ['total', 'Total calls', 'every call and text screened'],
    ['scanned', 'Scanned', 'given a risk score'],
    ['blocked', 'Blocked', 'stopped by a rule, category, carrier or score'],
    ['flagged', 'Flagged', 'let through, marked as suspected spam'],
    ['legitimate', 'Legitimate', 'let through, or passed a challenge'],
  ];
  return (
    <section class="impact" aria-labelledby="impact-heading">
      <div class="section-head">
        <h2 id="impact-heading">Impact</h2>
        <div class="segmented" role="radiogroup" aria-label="Period">
          {PERIODS.map(([key, label]) => (
            <label key={key} class="seg">
              <input type="radio" name="period" checked={period === key} onChange={() => setPeriod(key)} />
              <span>{label}</span>
            </label>
          ))}
        </div>
      </div>
      <Problem error={counters.error} what="The impact figures" />
      <ul class="impact-cards">
        {cards.map(([key, label, hint]) => (
          <li key={key} class={`card impact-card ${key}`}>
            <span class="impact-label">{label}</span>
            <strong class="impact-value" data-impact={key}>
              {counters.data ? formatCount(counters.data[key]) : '…'}
            </strong>
            <small class="muted">{hint}</small>
          </li>
        ))}
        {(counters.data?.wouldBlock ?? 0) > 0 && (
          <li class="card impact-card would-block">
            <span class="impact-label">Would block</span>
            <strong class="impact-value" data-impact="wouldBlock">
              {formatCount(counters.data!.wouldBlock!)}
            </strong>
            <small class="muted">let through by monitor mode, which would have stopped them</small>
          </li>
        )}
      </ul>
      <h3>Calls per hour by outcome</h3>
      <Problem error={hourly.error} what="The calls-per-hour chart" />
      {hourly.data && <HourlyChart buckets={hourly.data.buckets} label={`Calls per hour, ${PERIODS.find(([key]) => key === period)![1].toLowerCase()}`} />}
      {hourly.loading && !hourly.data && <Loading what="Loading the chart" />}
    </section>
  );
}
