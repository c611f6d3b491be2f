import type { AriClient } from './ari-api';
import type { TrackedTimers } from './tracked-timers';

/** What Asterisk answers (404 / 409) once a channel has hung up or left the application. */
const CHANNEL_GONE_MESSAGES = new Set(['Channel not found', 'Channel not in Stasis application', 'Provided channel was not found']);

/** ari-client rejects a failed request with an Error whose message is Asterisk's JSON body. */
export function ariErrorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') return body.message;
  } catch {
    // not a JSON body: a network error or our own timeout
  }
  return text;
}

export function isChannelGone(error: unknown): boolean {
  return CHANNEL_GONE_MESSAGES.has(ariErrorMessage(error));
}

/** GET /applications/{name} of an application nobody serves and no channel is in: Asterisk has forgotten it. */
export function isApplicationNotFound(error: unknown): boolean {
  return ariErrorMessage(error) === 'Application not found';
}

export class AriTimeout extends Error {
  override readonly name = 'AriTimeout';
  constructor(what: string, ms: number) {
    super(`${what}: no answer from ARI within ${ms} ms`);
  }
}

/**
 * `work()` with our own deadline: ari-client leaves a request to an unreachable Asterisk
 * pending forever (no error, no timeout).
 */
export function withDeadline<T>(timers: TrackedTimers, ms: number, what: string, work: () => PromiseLike<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = timers.after(ms, () => reject(new AriTimeout(what, ms)));
    const settle = (done: () => void) => {
      cancel();
      done();
    };
    try {
      work().then(
        (value) => settle(() => resolve(value)),
        (error: unknown) => settle(() => reject(error)),
      );
    } catch (error) {
      settle(() => reject(error));
    }
  });
}

/** Every ARI request of the driver goes through here, with the deadline. */
export class AriRest {
  constructor(
    private readonly connection: { readonly client: AriClient },
    private readonly timers: TrackedTimers,
    readonly timeoutMs: number,
  ) {}

  send<T>(what: string, request: (client: AriClient) => PromiseLike<T>): Promise<T> {
    return withDeadline(this.timers, this.timeoutMs, what, () => request(this.connection.client));
  }
}
