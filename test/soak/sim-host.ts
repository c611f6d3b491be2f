/*
 * The simulators for the soak, in a process of their own (forked by run.ts with an IPC
 * channel), so that the soak process holds the agent alone and its memory and handle
 * counts are the agent's. Each message asks for one thing and gets one answer with the
 * same id; a call's answer comes when the simulator has finished the call.
 */
import { FreeSwitchSim } from '../sim/freeswitch';
import type { OutboundCallSpec } from '../sim/freeswitch';
import { startAsteriskSim } from '../sim/asterisk';
import type { AsteriskSim, PlaceCallOptions } from '../sim/asterisk';

export type HostRequest =
  | { readonly cmd: 'fs-start' }
  | { readonly cmd: 'fs-outbound'; readonly agentPort: number; readonly spec: OutboundCallSpec }
  | { readonly cmd: 'fs-park'; readonly spec: OutboundCallSpec }
  | { readonly cmd: 'fs-drop' }
  | { readonly cmd: 'ast-start' }
  | { readonly cmd: 'ast-call'; readonly options: PlaceCallOptions; readonly dtmf?: { readonly afterMs: number; readonly digits: string } }
  | { readonly cmd: 'ast-drop' }
  | { readonly cmd: 'ast-outage'; readonly ms: number }
  | { readonly cmd: 'stats' }
  | { readonly cmd: 'pending' }
  | { readonly cmd: 'close' };

/** What the simulator saw of one call. */
export interface CallReport {
  readonly id: string;
  readonly outcome: string;
  readonly reason?: string | undefined;
  /** Asterisk: Stasis() found no application (the agent was not connected): the call never reached it. */
  readonly stasisFailed?: boolean;
}

let fs: FreeSwitchSim | null = null;
let ast: AsteriskSim | null = null;
const finishedAt = new WeakMap<object, number>();

/** The simulators keep every call, command and event for tests to read; a soak must let go of finished ones. */
function prune(): void {
  const old = Date.now() - 3000;
  if (fs) {
    const keep = fs.calls.filter((call) => call.outcome === undefined || (finishedAt.get(call) ?? Date.now()) > old);
    for (const call of fs.calls) if (call.outcome !== undefined && !finishedAt.has(call)) finishedAt.set(call, Date.now());
    fs.calls.splice(0, fs.calls.length, ...keep);
    fs.commandLog.length = 0;
  }
  if (ast) {
    const calls = ast.calls;
    for (const call of calls) if (call.finished && !finishedAt.has(call)) finishedAt.set(call, Date.now());
    const keep = calls.filter((call) => !call.finished || (finishedAt.get(call) ?? Date.now()) > old);
    calls.splice(0, calls.length, ...keep);
    ast.sentEvents.length = 0;
    ast.requests.length = 0;
  }
}
setInterval(prune, 1000).unref();

async function handle(request: HostRequest): Promise<unknown> {
  switch (request.cmd) {
    case 'fs-start': {
      fs = new FreeSwitchSim({ password: 'ClueCon', callDefaults: { playbackMs: 8, appDelayMs: 1 } });
      return { port: await fs.start() };
    }
    case 'fs-outbound': {
      const call = fs!.placeOutboundCall('127.0.0.1', request.agentPort, request.spec);
      const result = await call.done;
      return { id: call.uuid, outcome: result.outcome, reason: result.reason } satisfies CallReport;
    }
    case 'fs-park': {
      const call = fs!.parkCall(request.spec);
      const result = await call.done;
      return { id: call.uuid, outcome: result.outcome, reason: result.reason } satisfies CallReport;
    }
    case 'fs-drop':
      fs!.dropConnections();
      return {};
    case 'ast-start': {
      ast = await startAsteriskSim({ mediaDurationMs: 8, continuedHangupAfterMs: 0 });
      // Forward targets: most answer, some are busy.
      ast.onOriginate(() => (Math.random() < 0.7 ? { answer: true, afterMs: 5 } : { answer: false, cause: 17, afterMs: 5 }));
      return { url: ast.url, username: ast.username, password: ast.password };
    }
    case 'ast-call': {
      const call = ast!.placeCall(request.options);
      if (request.dtmf) {
        const { afterMs, digits } = request.dtmf;
        setTimeout(() => void call.sendDtmf(digits).catch(() => undefined), afterMs);
      }
      const result = await call.done;
      return { id: result.channelId, outcome: result.outcome, stasisFailed: result.stasisStatus === 'FAILED' || result.outcome === 'stasis_failed' } satisfies CallReport;
    }
    case 'ast-drop':
      return { dropped: ast!.dropWebSockets() };
    case 'ast-outage': {
      // Asterisk unreachable for a while (connections refused, the WebSocket cut), then back.
      await ast!.refuseConnections();
      setTimeout(() => void ast!.acceptConnections(), request.ms);
      return {};
    }
    case 'stats':
      return {
        fsLive: fs?.liveCalls().length ?? 0,
        fsOpenSockets: fs?.openSockets ?? 0,
        fsErrors: fs?.errors.length ?? 0,
        astLive: ast?.liveChannelCount() ?? 0,
        astErrors: ast?.internalErrors.length ?? 0,
        astWebSockets: ast?.openWebSocketCount() ?? 0,
      };
    case 'pending':
      // What the calls that have not ended are doing (a soak that stalls prints this).
      return [
        ...(fs?.calls ?? [])
          .filter((call) => call.outcome === undefined)
          .map((call) => ({ uuid: call.uuid, mode: call.mode, state: call.state, parked: call.isParked, apps: call.apps.map((app) => app.app).join(','), application: call.variables.current_application })),
        ...(ast?.calls ?? []).filter((call) => !call.finished).map((call) => ({ id: call.channelId, direction: call.direction, snapshot: call.snapshot()?.state })),
      ];
    case 'close':
      await fs?.close();
      await ast?.close();
      fs = null;
      ast = null;
      return {};
  }
}

process.on('message', (message: { id: number; request: HostRequest }) => {
  handle(message.request).then(
    (answer) => process.send?.({ id: message.id, answer }),
    (error: unknown) => process.send?.({ id: message.id, error: error instanceof Error ? error.stack : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
