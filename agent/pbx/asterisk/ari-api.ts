/**
 * The part of `ari-client` 2.2 (which ships no types) that the Asterisk driver uses,
 * with ARI's JSON shapes as Asterisk 22 sends them.
 */

export interface AriCallerId {
  readonly name: string;
  readonly number: string;
}

export interface AriChannel {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly caller: AriCallerId;
  readonly dialplan: { readonly context: string; readonly exten: string; readonly priority: number };
  /** The variables ari.conf's `channelvars` names, in every channel snapshot (Asterisk 14.2+). */
  readonly channelvars?: Readonly<Record<string, string>>;
}

export interface AriPlayback {
  readonly id: string;
  readonly state: string;
  readonly media_uri: string;
}

/** One WebSocket event; which fields are present depends on `type`. */
export interface AriEvent {
  readonly type: string;
  readonly channel?: AriChannel;
  readonly playback?: AriPlayback;
  readonly digit?: string;
}

export interface AriApplication {
  readonly name: string;
  readonly channel_ids: readonly string[];
  readonly bridge_ids: readonly string[];
}

type Request<P, R = unknown> = (params: P) => PromiseLike<R>;
type OnChannel<P = object, R = unknown> = Request<{ readonly channelId: string } & P, R>;

export interface AriClient {
  /** Opens the event WebSocket for `app`; ari-client reconnects it by itself when it drops. */
  start(app: string): PromiseLike<void>;
  stop(): void;
  /** WebSocket events (WebSocketConnected, WebSocketReconnecting) and ARI events by type. */
  on(event: string, listener: (event: AriEvent) => void): unknown;
  /** Emitted after ten failed reconnection attempts, when ari-client stops trying. */
  on(event: 'WebSocketMaxRetries', listener: (error?: Error) => void): unknown;
  once(event: string, listener: (event: AriEvent) => void): unknown;
  removeListener(event: string, listener: (event: AriEvent) => void): unknown;
  removeListener(event: 'WebSocketMaxRetries', listener: (error?: Error) => void): unknown;
  listenerCount(event: string | symbol): number;
  eventNames(): (string | symbol)[];
  readonly channels: {
    readonly answer: OnChannel;
    /** Absent from the ARI of older Asterisk versions. */
    readonly progress?: OnChannel;
    readonly ring: OnChannel;
    readonly play: OnChannel<{ readonly media: string; readonly playbackId: string }>;
    readonly hangup: OnChannel<{ readonly reason: string }>;
    readonly continueInDialplan: OnChannel<{ readonly context?: string; readonly extension?: string; readonly priority?: number }>;
    readonly setChannelVar: OnChannel<{ readonly variable: string; readonly value: string }>;
    readonly originate: Request<{
      readonly endpoint: string;
      readonly app: string;
      readonly channelId: string;
      readonly originator: string;
      readonly timeout: number;
      readonly variables: Readonly<Record<string, string>>;
    }>;
  };
  readonly bridges: {
    readonly create: Request<{ readonly type: string; readonly bridgeId: string; readonly name: string }>;
    readonly addChannel: Request<{ readonly bridgeId: string; readonly channel: readonly string[] }>;
    readonly destroy: Request<{ readonly bridgeId: string }>;
    readonly get: Request<{ readonly bridgeId: string }, { readonly channels: readonly string[] }>;
  };
  readonly playbacks: { readonly stop: Request<{ readonly playbackId: string }> };
  readonly applications: { readonly get: Request<{ readonly applicationName: string }, AriApplication> };
  /** Global variables: an unset one reads as "". */
  readonly asterisk: {
    readonly getGlobalVar: Request<{ readonly variable: string }, { readonly value: string }>;
    readonly setGlobalVar: Request<{ readonly variable: string; readonly value: string }>;
  };
}

export interface AriModule {
  connect(url: string, user: string, password: string): PromiseLike<AriClient>;
}

export function loadAriClient(): AriModule {
  return require('ari-client') as AriModule;
}
