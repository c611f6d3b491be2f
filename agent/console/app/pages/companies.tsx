import { useLocation } from 'preact-iso';
import { useEffect, useState } from 'preact/hooks';
import { put } from '../api';
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
            </button>
            {tenant.mode !== undefined &&
              (session.me.mayChange ? <ModeSwitch tenant={tenant.name} mode={tenant.mode} onChanged={session.refreshTenants} /> : <ModeBadge tenant={tenant.name} mode={tenant.mode} />)}
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
