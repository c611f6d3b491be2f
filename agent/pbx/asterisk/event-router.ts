import type { AriClient, AriEvent } from './ari-api';

/** The channel events a call or a forward leg reacts to. */
const CHANNEL_EVENTS = ['StasisStart', 'StasisEnd', 'ChannelHangupRequest', 'ChannelDestroyed', 'ChannelDtmfReceived'] as const;

/** Channel events that mean the channel has gone, or left our application. */
export const CHANNEL_LEFT = new Set(['StasisEnd', 'ChannelHangupRequest', 'ChannelDestroyed']);

type Handler = (event: AriEvent) => void;

/**
 * One listener per event type on the ari-client, routing each event by channel or
 * playback id to whoever registered for it. Cheaper than ari-client's per-instance
 * listeners (a linear scan per event), and a route is one map entry to remove, so
 * nothing is left on the client when a call ends.
 */
export class EventRouter {
  private readonly channels = new Map<string, Handler>();
  private readonly playbacks = new Map<string, Handler>();
  private client: AriClient | null = null;
  private readonly onChannelEvent: Handler = (event) => {
    const id = event?.channel?.id;
    if (typeof id !== 'string') return;
    const route = this.channels.get(id);
    if (route) route(event);
    else if (event.type === 'StasisStart') this.onNewChannel(event);
  };
  private readonly onPlaybackFinished: Handler = (event) => {
    const id = event?.playback?.id;
    if (typeof id === 'string') this.playbacks.get(id)?.(event);
  };

  /** `onNewChannel` gets the StasisStart of every channel nobody has routed. */
  constructor(private readonly onNewChannel: Handler) {}

  attach(client: AriClient): void {
    this.detach();
    this.client = client;
    for (const type of CHANNEL_EVENTS) client.on(type, this.onChannelEvent);
    client.on('PlaybackFinished', this.onPlaybackFinished);
  }

  detach(): void {
    const client = this.client;
    if (!client) return;
    for (const type of CHANNEL_EVENTS) client.removeListener(type, this.onChannelEvent);
    client.removeListener('PlaybackFinished', this.onPlaybackFinished);
    this.client = null;
  }

  /** Sends this channel's events to `handler` until the returned function is called. */
  routeChannel(channelId: string, handler: Handler): () => void {
    return route(this.channels, channelId, handler);
  }

  routePlayback(playbackId: string, handler: Handler): () => void {
    return route(this.playbacks, playbackId, handler);
  }

  routedChannelIds(): string[] {
    return [...this.channels.keys()];
  }

  get counts(): { readonly channels: number; readonly playbacks: number } {
    return { channels: this.channels.size, playbacks: this.playbacks.size };
  }
}

function route(routes: Map<string, Handler>, id: string, handler: Handler): () => void {
  routes.set(id, handler);
  return () => {
    if (routes.get(id) === handler) routes.delete(id);
  };
}
