/** Small pieces every page uses: loading data, fields with their errors, chips, times, row menus. */
import type { ComponentChildren, TargetedKeyboardEvent } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  reload(): void;
}

/** Runs `load` now and whenever a dependency changes; an answer that arrives after a newer request is dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const mine = ++latest.current;
    setState((before) => ({ ...before, loading: true }));
    load().then(
      (data) => mine === latest.current && setState({ data, error: undefined, loading: false }),
      (error: unknown) => mine === latest.current && setState({ data: undefined, error, loading: false }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { ...state, reload };
}

/** The error of a form: which field it names (for the message beside it), and the message. */
export function fieldError(error: unknown, field: string, aliases: readonly string[] = []): string | undefined {
  if (!(error instanceof ApiError) || error.field === undefined) return undefined;
  return error.field === field || aliases.includes(error.field) || error.field.startsWith(`${field}.`) ? error.message : undefined;
}

/** An error not about one of the form's own fields: shown above its buttons. */
export function formError(error: unknown, fields: readonly string[]): string | undefined {
  if (error === undefined || error === null) return undefined;
  if (error instanceof ApiError) {
    if (error.field !== undefined && fields.some((field) => error.field === field || error.field!.startsWith(`${field}.`))) return undefined;
    return error.missing ? 'This agent does not offer that yet: update callguard.' : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

interface FieldProps {
  readonly label: ComponentChildren;
  readonly error?: string | undefined;
  readonly hint?: ComponentChildren;
  readonly children: (props: { id: string; 'aria-invalid'?: 'true'; 'aria-describedby'?: string }) => ComponentChildren;
  readonly class?: string;
}

/** A labelled control with its hint and, when the API refused it, the reason right beside it. */
export function Field({ label, error, hint, children, class: className }: FieldProps) {
  const id = useId();
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class={`field${error ? ' invalid' : ''}${className ? ` ${className}` : ''}`}>
      <label for={id}>{label}</label>
      {children({ id, ...(error ? { 'aria-invalid': 'true' as const } : {}), ...(described ? { 'aria-describedby': described } : {}) })}
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="field-error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

/** A problem loading or saving: a missing endpoint says so plainly instead of breaking the page. */
export function Problem({ error, what }: { error: unknown; what?: string }) {
  if (error === undefined || error === null) return null;
  if (error instanceof ApiError && error.missing) return <NotAvailable what={what ?? 'This part'} />;
  if (error instanceof ApiError && error.status === 403) {
    return (
      <p class="notice" role="status">
        {what ? `${what}: ` : ''}not available to you ({error.message}).
      </p>
    );
  }
  return (
    <p class="problem" role="alert">
      {what ? `${what}: ` : ''}
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

export function NotAvailable({ what }: { what: string }) {
  return (
    <p class="notice not-available" role="status" data-not-available="">
      {what} is not available on this agent yet. The rest of the page works; update callguard to use it.
    </p>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

export const ACTION_LABELS: Readonly<Record<string, string>> = {
  allow: 'Allow',
  block: 'Block',
  challenge: 'Challenge',
  busy: 'Busy signal',
  disconnected: 'Disconnected',
  voicemail: 'Voicemail',
  forward: 'Forward',
  identify: 'Identify',
};

/** Identify is given by a category policy or allow-only mode, never by a rule (a rule's caller has a number already). */
export const RULE_ACTION_LABELS = Object.entries(ACTION_LABELS).filter(([action]) => action !== 'identify');

const ACTION_TONE: Readonly<Record<string, string>> = { allow: 'good', block: 'bad', busy: 'bad', disconnected: 'bad', challenge: 'warn', identify: 'warn', voicemail: 'info', forward: 'info' };

/** An action; `monitored`: what monitor mode would have done, the call having gone through. */
export function ActionChip({ action, target, monitored = false }: { action: string; target?: string | null; monitored?: boolean }) {
  const label = ACTION_LABELS[action] ?? action;
  return (
    <span class={`chip ${monitored ? 'warn' : (ACTION_TONE[action] ?? 'info')}`} title={monitored ? 'monitor mode: the call went through' : undefined}>
      {monitored ? `Would ${label.toLowerCase()}` : label}
      {target ? ` → ${target}` : ''}
    </span>
  );
}

export const OUTCOME_LABELS: Readonly<Record<string, string>> = {
  continued: 'Went through',
  rejected: 'Rejected',
  passed: 'Passed challenge',
  failed: 'Failed',
  identified: 'Keyed in a number',
  voicemail: 'Voicemail',
  answered: 'Forward answered',
  forward_failed: 'Forward failed',
  hungup: 'Caller hung up',
  monitored: 'Let through (monitor mode)',
  error: 'Error',
};

export function Chip({ tone, children }: { tone: 'good' | 'bad' | 'warn' | 'info' | 'muted'; children: ComponentChildren }) {
  return <span class={`chip ${tone}`}>{children}</span>;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
export const formatTime = (ms: number) => dateTime.format(new Date(ms));
export const formatCount = (n: number) => n.toLocaleString();

/** A scope as words: `did:+14045550100` → `DID +14045550100`. */
export function scopeLabel(scope: string): string {
  if (scope === 'global') return 'All companies';
  if (scope.startsWith('tenant:')) return `Company ${scope.slice('tenant:'.length)}`;
  if (scope.startsWith('did:')) return `DID ${scope.slice('did:'.length)}`;
  return scope;
}

export interface MenuItem {
  readonly label: string;
  readonly onSelect: () => void;
  readonly danger?: boolean;
}

/** A row's menu (the gear of hosted consoles): a real button, arrow keys and Escape. */
export function RowMenu({ label, items }: { label: string; items: readonly MenuItem[] }) {
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const id = useId();
  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLButtonElement>('button')?.focus();
    const away = (event: MouseEvent) => {
      if (!menu.current?.parentElement?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [open]);
  const onKey = (event: TargetedKeyboardEvent<HTMLDivElement>) => {
    const buttons = [...(menu.current?.querySelectorAll<HTMLButtonElement>('button') ?? [])];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (event.key === 'Escape') {
      setOpen(false);
      button.current?.focus();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      buttons[(at + (event.key === 'ArrowDown' ? 1 : buttons.length - 1)) % buttons.length]?.focus();
    }
  };
  return (
    <div class="row-menu">
      <button ref={button} type="button" class="icon" aria-haspopup="menu" aria-expanded={open} aria-controls={id} aria-label={label} title={label} onClick={() => setOpen(!open)} data-write="">
        ⚙
      </button>
      {open && (
        <div ref={menu} id={id} role="menu" class="menu" onKeyDown={onKey}>
          {items.map((item) => (
            <button
              key={item.label}
              type="button"
              role="menuitem"
              class={item.danger ? 'danger' : ''}
              onClick={() => {
                setOpen(false);
                item.onSelect();
              }}
            >
              {item.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

/** A page's heading and the short sentence under it. */
export function PageHead({ title, children, actions }: { title: string; children?: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · callguard`;
  }, [title]);
  return (
    <header class="page-head">
      <div>
        <h1 tabIndex={-1}>{title}</h1>
        {children && <p class="lede">{children}</p>}
      </div>
      {actions && <div class="page-actions">{actions}</div>}
    </header>
  );
}

/** Whether the signed-in person may change things in `scope` (the API decides; this only hides what it would refuse). */
export function mayChangeScope(me: { tenants: readonly string[] | null; mayChange: boolean }, scope: string, didOwner: (did: string) => string | undefined): boolean {
  if (!me.mayChange) return false;
  if (me.tenants === null) return true;
  if (scope === 'global') return false;
  if (scope.startsWith('tenant:')) return me.tenants.includes(scope.slice('tenant:'.length));
  if (scope.startsWith('did:')) {
    const owner = didOwner(scope.slice('did:'.length));
    return owner !== undefined && me.tenants.includes(owner);
  }
  return false;
}

/** A short success line that screen readers announce. */
export function Done({ children }: { children: ComponentChildren }) {
  if (!children) return null;
  return (
    <p class="done" role="status">
      {children}
    </p>
  );
}
