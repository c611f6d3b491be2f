import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import type { Me } from '../api';
import { Field, fieldError } from '../ui';

/** Sign-in: a name and a password made with `callguard users add`. */
export function SignInPage({ onSignedIn }: { onSignedIn: (me: Me, next: string | null) => Promise<void> }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    document.title = 'Sign in · callguard';
    first.current?.focus();
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const me = await request<Me>('POST', '/v1/session', { body: { name, password }, quiet401: true });
      await onSignedIn(me, new URLSearchParams(window.location.search).get('next'));
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };

  const message = error instanceof ApiError ? (error.status === 401 ? 'Wrong name or password.' : error.message) : error ? String(error) : undefined;
  return (
    <section class="signin card">
      <h1 tabIndex={-1}>
        <span class="brand">callguard</span> console
      </h1>
      <p class="lede">Sign in to screen calls for your companies.</p>
      <form onSubmit={submit} noValidate={false}>
        <Field label="Name" error={fieldError(error, 'name')}>
          {(props) => <input {...props} ref={first} name="name" autocomplete="username" required maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <Field label="Password" error={fieldError(error, 'password')}>
          {(props) => <input {...props} name="password" type="password" autocomplete="current-password" required maxLength={1024} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
        </Field>
        {message && !(error instanceof ApiError && error.field) && (
          <p class="problem" role="alert">
            {message}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p class="hint">
        Accounts are made on the agent's machine: <code>callguard users add &lt;name&gt; --role admin|manager|viewer</code>.
      </p>
    </section>
  );
}
