/**
 * The console's only way to the agent: the REST API under /v1/, with the session cookie
 * (set by sign-in, HttpOnly) and the CSRF token sign-in answered on every request that
 * changes something. Errors come back as `{error, field}` and are thrown as ApiError, so a
 * form can show the message beside the field it names.
 */

export interface Me {
  readonly name: string;
  /** null: every tenant (an administrator). */
  readonly tenants: readonly string[] | null;
  readonly mayChange: boolean;
  readonly csrfToken?: string;
  /** The company this user last picked (PUT /v1/me/tenant); absent for an agent that does not remember it. */
  readonly lastTenant?: string | null;
}

/** What allow-only mode may give callers no allow rule lets through (the API's ALLOW_ONLY_ACTIONS). */
export const ALLOW_ONLY_ACTIONS = ['challenge', 'identify', 'voicemail', 'busy', 'disconnected', 'block'] as const;
export type AllowOnlyAction = (typeof ALLOW_ONLY_ACTIONS)[number];

export interface Tenant {
  readonly name: string;
  /** monitor: calls decided and logged, and let through; absent from an older agent (enforce). */
  readonly mode?: 'enforce' | 'monitor';
  /** Allow-only mode: what callers no allow rule lets through get; null: off; absent from an older agent. */
  readonly allowOnly?: AllowOnlyAction | null;
  /** The DIDs with their own allow-only setting (overriding the tenant's). */
  readonly didAllowOnly?: Readonly<Record<string, AllowOnlyAction | 'off'>>;
  readonly dids: readonly string[];
  readonly rules: number;
}

export interface Rule {
  readonly id: number;
  readonly scope: string;
  readonly kind: string;
  readonly key: string;
  readonly pattern: string;
  readonly action: string;
  readonly target: string | null;
  readonly sms: boolean;
  readonly note: string | null;
  readonly list: string | null;
  readonly expiresAt: number | null;
  readonly when?: string | null;
  readonly tz?: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface Call {
  readonly id: number;
  readonly at: number;
  readonly kind: string;
  readonly source: string;
  /** The switch the call came through (its connection's name in the agent's config); null for the HTTP hook. */
  readonly pbx: string | null;
  readonly tenant: string;
  readonly did: string | null;
  readonly caller: string | null;
  readonly callerRaw: string | null;
  readonly callerName: string | null;
  readonly ip: string | null;
  readonly sipFrom: string | null;
  readonly action: string;
  readonly target: string | null;
  readonly ruleId: number | null;
  readonly category: string | null;
  readonly score: number | null;
  readonly flagged: boolean;
  readonly reasons: readonly string[];
  readonly outcome: string | null;
  readonly outcomeDetail: string | null;
}

export interface CallPage {
  readonly calls: readonly Call[];
  readonly next: string | null;
}

export interface Decision {
  readonly action: string;
  readonly target: string | null;
  readonly tenant: string | null;
  readonly did: string | null;
  readonly caller: string | null;
  readonly scope: string | null;
  readonly ruleId: number | null;
  readonly category: string | null;
  readonly score: number | null;
  readonly flagged: boolean;
  readonly reasons: readonly string[];
}

export interface AuditChange {
  readonly id: number;
  readonly at: number;
  readonly actor: string;
  readonly verb: string;
  readonly entity: string;
  readonly key: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** An answer other than 2xx: the API's message, the field it is about, and the status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly field: string | undefined,
    /** The server has no such endpoint (yet): an older agent, or one still being built. */
    readonly missing = false,
    /** Extra members of the error body (an import's failing `line`, for example). */
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let onSignedOut: () => void = () => {};

export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token ?? null;
}

/** Called when the session has ended (401): the app goes back to the sign-in page. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Fastify's answer for a path it has no route for, as opposed to a route saying "no such rule". */
function isMissingRoute(status: number, body: Record<string, unknown>): boolean {
  return (status === 404 || status === 405) && typeof body.message === 'string' && /^Route [A-Z]+:.* not found$/.test(body.message);
}

export async function errorOf(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's page, say): the status tells enough.
  }
  if (isMissingRoute(response.status, body)) return new ApiError(response.status, 'not available on this agent yet', undefined, true, body);
  const message = typeof body.error === 'string' ? body.error : typeof body.message === 'string' ? body.message : `${response.status} ${response.statusText}`;
  return new ApiError(response.status, message, typeof body.field === 'string' ? body.field : undefined, false, body);
}

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  /** A raw body (CSV) with its content type, instead of JSON. */
  readonly raw?: { readonly type: string; readonly text: string };
  /** Sign-in's own 401 is a wrong password, not an ended session. */
  readonly quiet401?: boolean;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string | undefined;
  if (options.raw) {
    headers['content-type'] = options.raw.type;
    body = options.raw.text;
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(withQuery(path, options.query), { method, headers, body, credentials: 'same-origin' });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && !options.quiet401) onSignedOut();
    throw error;
  }
  if (response.status === 204) return undefined as T;
  const type = response.headers.get('content-type') ?? '';
  return (type.includes('json') ? await response.json() : await response.text()) as T;
}

export const get = <T,>(path: string, query?: Query) => request<T>('GET', path, { query });
export const post = <T,>(path: string, body?: unknown, query?: Query) => request<T>('POST', path, { body, query });
export const put = <T,>(path: string, body?: unknown) => request<T>('PUT', path, { body });
export const patch = <T,>(path: string, body?: unknown) => request<T>('PATCH', path, { body });
export const del = <T,>(path: string, body?: unknown) => request<T>('DELETE', path, { body });

/** `/v1/rules/{id}` for a real path `/v1/rules/12`, to look it up in the OpenAPI document. */
const templateOf = (path: string) => path.replace(/\/\{[^}]+\}/g, '/{}');

let operations: Promise<Set<string>> | null = null;

/**
 * Which operations this agent serves, from its OpenAPI document (read once). Pages ask
 * before drawing a part that needs an endpoint an older agent lacks, and say so instead.
 */
export function operationsServed(): Promise<Set<string>> {
  operations ??= fetch('/v1/openapi.json', { credentials: 'same-origin' })
    .then((response) => (response.ok ? (response.json() as Promise<{ paths?: Record<string, Record<string, unknown>> }>) : { paths: {} }))
    .then((document) => {
      const served = new Set<string>();
      for (const [path, methods] of Object.entries(document.paths ?? {})) for (const method of Object.keys(methods)) served.add(`${method.toUpperCase()} ${templateOf(path)}`);
      return served;
    })
    .catch(() => new Set<string>());
  return operations;
}

/** Whether `method path` is served; `path` in OpenAPI form, `/v1/rules/{id}`. */
export async function serves(method: string, path: string): Promise<boolean> {
  return (await operationsServed()).has(`${method.toUpperCase()} ${templateOf(path)}`);
}

/**
 * Sends a CSV file with upload progress (fetch cannot report it), the same cookie and CSRF
 * token as every other change.
 */
export function uploadCsv<T>(path: string, query: Query, text: string, progress: (fraction: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', withQuery(path, query));
    xhr.setRequestHeader('content-type', 'text/csv');
    xhr.setRequestHeader('accept', 'application/json');
    if (csrfToken) xhr.setRequestHeader('x-csrf-token', csrfToken);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) progress(event.loaded / event.total);
    };
    xhr.onerror = () => reject(new ApiError(0, 'the agent could not be reached', undefined));
    xhr.onload = () => {
      const response = new Response(xhr.responseText || null, { status: xhr.status, statusText: xhr.statusText, headers: { 'content-type': xhr.getResponseHeader('content-type') ?? '' } });
      if (xhr.status >= 200 && xhr.status < 300) {
        progress(1);
        resolve((xhr.responseText ? JSON.parse(xhr.responseText) : undefined) as T);
      } else {
        void errorOf(response).then((error) => {
          if (xhr.status === 401) onSignedOut();
          reject(error);
        });
      }
    };
    xhr.send(text);
  });
}
