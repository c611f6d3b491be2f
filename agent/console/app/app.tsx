/** The console's frame: who is signed in, the company picked, the navigation, and the page routes. */
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import type { ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, del, get, put, serves, setCsrfToken, whenSignedOut } from './api';
import type { Me, Tenant } from './api';
import { ActivityPage } from './pages/activity';
import { AddressesPage } from './pages/addresses';
import { CallerNamesPage } from './pages/names';
import { AuditPage } from './pages/audit';
import { BlockedPage } from './pages/blocked';
import { CompaniesPage } from './pages/companies';
import { ListsPage } from './pages/lists';
import { ProtectionPage } from './pages/protection';
import { SignInPage } from './pages/signin';
import { TimelinePage } from './pages/timeline';
import { SessionContext } from './session';
import type { Session } from './session';
import { Loading } from './ui';

const LOCAL_KEY = (user: string) => `callguard.company.${user}`;

export function App() {
  return (
    <LocationProvider>
      <Console />
    </LocationProvider>
  );
}

interface Signed {
  readonly me: Me;
  readonly tenants: readonly Tenant[];
  readonly tenant: string | null;
  readonly remembered: 'agent' | 'browser';
}

/** The company to start with: the one the agent remembers, else this browser's, else the only one. */
async function startingTenant(me: Me, tenants: readonly Tenant[]): Promise<{ tenant: string | null; remembered: 'agent' | 'browser' }> {
  const names = tenants.map((tenant) => tenant.name);
  const agentRemembers = await serves('PUT', '/v1/me/tenant');
  const stored = agentRemembers && me.lastTenant !== undefined ? me.lastTenant : localStorage.getItem(LOCAL_KEY(me.name));
  const tenant = stored && names.includes(stored) ? stored : names.length === 1 ? names[0]! : null;
  return { tenant, remembered: agentRemembers ? 'agent' : 'browser' };
}

function Console() {
  const location = useLocation();
  const [signed, setSigned] = useState<Signed | null | undefined>(undefined);

  const toSignIn = useCallback(() => {
    setSigned(null);
    setCsrfToken(null);
    const here = window.location.pathname + window.location.search;
    if (!here.startsWith('/signin')) location.route(`/signin${here !== '/' ? `?next=${encodeURIComponent(here)}` : ''}`, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const start = useCallback(async (me: Me) => {
    setCsrfToken(me.csrfToken);
    const { tenants } = await get<{ tenants: Tenant[] }>('/v1/tenants');
    const first = await startingTenant(me, tenants);
    setSigned({ me, tenants, ...first });
    return { tenants, ...first };
  }, []);

  useEffect(() => {
    whenSignedOut(toSignIn);
    get<Me>('/v1/me').then(start, (error: unknown) => {
      if (error instanceof ApiError && error.status === 401) toSignIn();
      else setSigned(null);
    });
  }, [start, toSignIn]);

  const session: Session | null = useMemo(() => {
    if (!signed) return null;
    const owners = new Map<string, string>();
    for (const tenant of signed.tenants) for (const did of tenant.dids) owners.set(did, tenant.name);
    return {
      ...signed,
      async chooseTenant(name) {
        // The agent remembers a company; "all companies" is for this visit only.
        if (signed.remembered === 'agent') {
          if (name !== null) await put('/v1/me/tenant', { tenant: name });
        } else if (name === null) localStorage.removeItem(LOCAL_KEY(signed.me.name));
        else localStorage.setItem(LOCAL_KEY(signed.me.name), name);
        setSigned({ ...signed, tenant: name });
      },
      didOwner: (did) => owners.get(did),
      dids: () => signed.tenants.filter((tenant) => signed.tenant === null || tenant.name === signed.tenant).flatMap((tenant) => tenant.dids),
      refreshTenants() {
        get<{ tenants: Tenant[] }>('/v1/tenants').then(({ tenants }) => setSigned((now) => (now ? { ...now, tenants } : now)), () => {});
      },
      async signOut() {
        try {
          await del('/v1/session');
        } finally {
          toSignIn();
          location.route('/signin');
        }
      },
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signed]);

  const onSignedIn = async (signedInAs: Me, next: string | null) => {
    setCsrfToken(signedInAs.csrfToken);
    // Sign-in answers who; /v1/me adds what the agent remembers for them (the company last picked).
    const me = { ...signedInAs, ...(await get<Me>('/v1/me')) };
    const { tenants, tenant } = await start(me);
    location.route(next && next.startsWith('/') && !next.startsWith('//') ? next : tenant === null && tenants.length > 1 ? '/companies' : '/activity');
  };

  if (signed === undefined) return <Loading what="Opening the console" />;
  if (location.path === '/signin' || !session) {
    return (
      <main id="main" class="signin-main">
        <SignInPage onSignedIn={onSignedIn} />
      </main>
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Frame>
        <Router onRouteChange={() => document.querySelector<HTMLElement>('main h1')?.focus({ preventScroll: true })}>
          <Route path="/" component={Home} />
          <Route path="/companies" component={CompaniesPage} />
          <Route path="/activity" component={ActivityPage} />
          <Route path="/timeline/:caller" component={TimelinePage} />
          <Route path="/blocked" component={BlockedPage} />
          <Route path="/addresses" component={AddressesPage} />
          <Route path="/names" component={CallerNamesPage} />
          <Route path="/protection" component={ProtectionPage} />
          <Route path="/lists" component={ListsPage} />
          <Route path="/audit" component={AuditPage} />
          <Route default component={NotFound} />
        </Router>
      </Frame>
    </SessionContext.Provider>
  );
}

function Home() {
  const location = useLocation();
  useEffect(() => location.route('/activity', true), [location]);
  return null;
}

function NotFound() {
  return (
    <section>
      <h1 tabIndex={-1}>No such page</h1>
      <p>
        <a href="/activity">Go to Activity</a>
      </p>
    </section>
  );
}

const NAV = [
  ['/activity', 'Activity'],
  ['/blocked', 'Blocked numbers'],
  ['/addresses', 'Addresses'],
  ['/names', 'Caller names'],
  ['/protection', 'Robocall protection'],
  ['/lists', 'Lists'],
  ['/audit', 'Audit'],
] as const;

function Frame({ children }: { children: ComponentChildren }) {
  const location = useLocation();
  const session = useContext(SessionContext)!;
  const company = session.tenant ?? (session.me.tenants === null ? 'All companies' : session.tenants.length === 1 ? session.tenants[0]!.name : 'All my companies');
  const current = (href: string) => location.path === href || (href === '/activity' && location.path.startsWith('/timeline/'));
  return (
    <div class="frame">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/activity">
          callguard
        </a>
        <a class="company" href="/companies" aria-current={location.path === '/companies' ? 'page' : undefined} title="Change company">
          <span class="company-label">Company</span> <strong>{company}</strong>
        </a>
        <div class="who">
          <span class="who-name" title={session.me.mayChange ? '' : 'read only'}>
            {session.me.name.replace(/^user:/, '')}
            {!session.me.mayChange && <span class="chip muted">read only</span>}
          </span>
          <button type="button" class="link" onClick={() => void session.signOut()}>
            Sign out
          </button>
        </div>
        <nav aria-label="Pages">
          <ul>
            {NAV.filter(([href]) => href !== '/audit' || session.me.tenants === null).map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={current(href) ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
