import { useLocation } from 'preact-iso';
import { useEffect, useState } from 'preact/hooks';
import { ALLOW_ONLY_ACTIONS, put } from '../api';
import type { AllowOnlyAction } from '../api';
import { useSession } from '../session';
import { Chip, PageHead, Problem, formatCount } from '../ui';

/** The company picker: every tenant the person may see, with its DIDs; the pick is remembered for them. */
export function CompaniesPage() {
  const session = useSession();
  const location = useLocation();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<string | null>(null);
  const choose = async (name: string | null) => {
    setBusy(name ?? '*');
    setError(undefined);
    try {
      await session.chooseTenant(name);
      location.route('/activity');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  };
  const all = session.me.tenants === null ? 'All companies' : 'All my companies';
  return (
    <section>
      <PageHead title="Companies">Pick the company to work on. Activity, blocked numbers and protection then show that company; you can change it at any time from the top of the page.</PageHead>
      <Problem error={error} what="Remembering the company" />
      {session.remembered === 'browser' && (
        <p class="notice" role="status">
          This agent cannot remember the pick for your account yet: it is kept in this browser only.
        </p>
      )}
      <ul class="companies">
        {session.tenants.length > 1 && (
          <li>
            <button type="button" class={`company-card${session.tenant === null ? ' chosen' : ''}`} aria-pressed={session.tenant === null} disabled={busy !== null} onClick={() => void choose(null)}>
              <strong>{all}</strong>
              <span>{formatCount(session.tenants.length)} companies together</span>
            </button>
          </li>
        )}
        {session.tenants.map((tenant) => (
          <li key={tenant.name}>
            <button type="button" class={`company-card${session.tenant === tenant.name ? ' chosen' : ''}`} aria-pressed={session.tenant === tenant.name} disabled={busy !== null} onClick={() => void choose(tenant.name)}>
              <strong>{tenant.name}</strong>
              <span>
                {tenant.dids.length === 0 ? 'no DIDs' : tenant.dids.length <= 3 ? tenant.dids.join(', ') : `${tenant.dids.slice(0, 3).join(', ')} and ${tenant.dids.length - 3} more`}
              </span>
              <span>{formatCount(tenant.rules)} rules</span>
              {tenant.mode === 'monitor' && <Chip tone="warn">Monitor mode</Chip>}
              {tenant.allowOnly && <Chip tone="info">Allow-only: {ALLOW_ONLY_LABELS[tenant.allowOnly]}</Chip>}
            </button>
            {tenant.mode !== undefined &&
              (session.me.mayChange ? <ModeSwitch tenant={tenant.name} mode={tenant.mode} onChanged={session.refreshTenants} /> : <ModeBadge tenant={tenant.name} mode={tenant.mode} />)}
            {tenant.allowOnly !== undefined &&
              (session.me.mayChange ? (
                <AllowOnlyChoice tenant={tenant.name} allowOnly={tenant.allowOnly} dids={tenant.didAllowOnly ?? {}} onChanged={session.refreshTenants} />
              ) : (
                <AllowOnlyBadge tenant={tenant.name} allowOnly={tenant.allowOnly} dids={tenant.didAllowOnly ?? {}} />
              ))}
          </li>
        ))}
      </ul>
      {session.tenants.length === 0 && <p>You have no companies yet. An administrator adds them with <code>callguard tenants add</code>.</p>}
    </section>
  );
}

/** What monitor mode does, as the switch and the badge say it. */
const MONITOR_MEANS = 'Calls are decided and logged, but let through: Activity shows what would have happened.';

/** Where a company stands, for those who may not change it (viewers): a badge, nothing to press. */
function ModeBadge({ tenant, mode }: { tenant: string; mode: 'enforce' | 'monitor' }) {
  return (
    <p class="mode-switch" data-mode={mode}>
      <Chip tone={mode === 'monitor' ? 'warn' : 'good'}>{mode === 'monitor' ? 'Monitor mode is on' : 'Enforced'}</Chip>{' '}
      <small id={`mode-${tenant}`} class="hint">
        {mode === 'monitor' ? `${MONITOR_MEANS} ` : 'Calls are screened: what is blocked is stopped. '}
        Only someone who may change {tenant} can switch monitor mode.
      </small>
    </p>
  );
}

/**
 * Monitor mode for one company: its calls are decided and logged with what would have
 * happened, and let through. A switch (checked: monitor, unchecked: enforce) named for the
 * company, described by what monitor mode does; it follows the listing when that changes.
 */
function ModeSwitch({ tenant, mode, onChanged }: { tenant: string; mode: 'enforce' | 'monitor'; onChanged: () => void }) {
  const [monitoring, setMonitoring] = useState(mode === 'monitor');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!busy) setMonitoring(mode === 'monitor');
  }, [mode]);
  const change = async (on: boolean) => {
    setMonitoring(on);
    setBusy(true);
    setError(undefined);
    try {
      await put(`/v1/tenants/${encodeURIComponent(tenant)}/mode`, { mode: on ? 'monitor' : 'enforce' });
      onChanged();
    } catch (caught) {
      setMonitoring(!on);
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="mode-switch" data-mode={monitoring ? 'monitor' : 'enforce'}>
      <p>
        <label class="switch">
          <input
            type="checkbox"
            role="switch"
            checked={monitoring}
            disabled={busy}
            aria-label={`Monitor mode for ${tenant}`}
            aria-describedby={`mode-${tenant}`}
            onChange={(e) => void change(e.currentTarget.checked)}
            data-write=""
          />
          <span class="slider" aria-hidden="true" />
          <span aria-hidden="true">Monitor mode</span>
        </label>
        <small id={`mode-${tenant}`} class="hint block">
          {MONITOR_MEANS} <strong>{monitoring ? `On: ${tenant}'s calls are not stopped.` : 'Off: calls are screened and enforced.'}</strong>
        </small>
      </p>
      <Problem error={error} what="Changing the mode" />
    </div>
  );
}

/** What callers not on the allow list get, as the choice and the badge name it. */
const ALLOW_ONLY_LABELS: Readonly<Record<AllowOnlyAction, string>> = {
  challenge: 'Challenge (press 1)',
  identify: 'Identify (key in their number)',
  voicemail: 'Voicemail',
  busy: 'Busy',
  disconnected: 'Disconnected tones',
  block: 'Block',
};

/** What allow-only mode does, as the choice and the badge say it. */
const ALLOW_ONLY_MEANS = 'Only callers an allow rule lets through ring; a block rule still blocks, and everyone else gets the chosen action.';

/** The DIDs with their own setting, which overrides the company's. */
function DidAllowOnly({ dids }: { dids: Readonly<Record<string, AllowOnlyAction | 'off'>> }) {
  const entries = Object.entries(dids);
  if (entries.length === 0) return null;
  return (
    <ul class="did-allow-only">
      {entries.map(([did, setting]) => (
        <li key={did} data-did={did}>
          {did}: {setting === 'off' ? 'not allow-only' : ALLOW_ONLY_LABELS[setting]} (its own setting)
        </li>
      ))}
    </ul>
  );
}

/** Allow-only mode for those who may not change it (viewers): what it is, nothing to press. */
function AllowOnlyBadge({ tenant, allowOnly, dids }: { tenant: string; allowOnly: AllowOnlyAction | null; dids: Readonly<Record<string, AllowOnlyAction | 'off'>> }) {
  return (
    <div class="allow-only" data-allow-only={allowOnly ?? 'off'}>
      <p>
        <Chip tone={allowOnly ? 'info' : 'muted'}>{allowOnly ? `Allow-only: ${ALLOW_ONLY_LABELS[allowOnly]}` : 'Allow-only off'}</Chip>{' '}
        <small class="hint">
          {allowOnly ? `${ALLOW_ONLY_MEANS} ` : ''}Only someone who may change {tenant} can set allow-only mode.
        </small>
      </p>
      <DidAllowOnly dids={dids} />
    </div>
  );
}

/**
 * Allow-only mode for one company: off, or the action callers not on its allow list get.
 * A select named for the company; saved as soon as it changes, and it follows the listing.
 */
function AllowOnlyChoice({ tenant, allowOnly, dids, onChanged }: { tenant: string; allowOnly: AllowOnlyAction | null; dids: Readonly<Record<string, AllowOnlyAction | 'off'>>; onChanged: () => void }) {
  const [value, setValue] = useState<string>(allowOnly ?? 'off');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!busy) setValue(allowOnly ?? 'off');
  }, [allowOnly]);
  const change = async (next: string) => {
    const before = value;
    setValue(next);
    setBusy(true);
    setError(undefined);
    try {
      await put(`/v1/tenants/${encodeURIComponent(tenant)}/allow-only`, { action: next });
      onChanged();
    } catch (caught) {
      setValue(before);
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="allow-only" data-allow-only={value}>
      <p>
        <label for={`allow-only-${tenant}`}>Allow-only</label>{' '}
        <select
          id={`allow-only-${tenant}`}
          aria-label={`Allow-only mode for ${tenant}`}
          aria-describedby={`allow-only-${tenant}-hint`}
          value={value}
          disabled={busy}
          onChange={(e) => void change(e.currentTarget.value)}
          data-write=""
        >
          <option value="off">Off: everyone is screened as usual</option>
          {ALLOW_ONLY_ACTIONS.map((action) => (
            <option key={action} value={action}>
              Others get: {ALLOW_ONLY_LABELS[action]}
            </option>
          ))}
        </select>
        <small id={`allow-only-${tenant}-hint`} class="hint block">
          {ALLOW_ONLY_MEANS} <strong>{value === 'off' ? 'Off.' : `On: callers not on ${tenant}'s allow list get ${ALLOW_ONLY_LABELS[value as AllowOnlyAction].toLowerCase()}.`}</strong>
        </small>
      </p>
      <DidAllowOnly dids={dids} />
      <Problem error={error} what="Changing allow-only mode" />
    </div>
  );
}
