/*
 * FreeSWITCH 1.10 event-socket simulator for tests: real TCP on 127.0.0.1,
 * the real wire format, modesl (or any ESL client) as the client.
 *
 *   import { FreeSwitchSim } from './sim/freeswitch';
 *
 *   const sim = new FreeSwitchSim({ password: 'ClueCon' });  // timeScale 0.01: FS timeouts run 100x faster
 *   const port = await sim.start();                           // inbound listener (like :8021)
 *
 *   // Outbound: the dialplan's `socket host:port async full` connects to the agent.
 *   const call = sim.placeOutboundCall('127.0.0.1', agentPort, {
 *     callerIdNumber: '+14045551234', callerIdName: 'Alice', destinationNumber: '1000',
 *     digits: '1',                                            // queued DTMF for play_and_get_digits
 *   });
 *   const result = await call.done;      // { outcome: 'continued' | 'hungup' | 'transferred' | ..., hangupCause, commands, apps }
 *   result.apps.map((a) => a.app);       // ['answer', 'play_and_get_digits', ...]
 *
 *   // Inbound: the agent is connected to `port`; the dialplan parks the call.
 *   const parked = sim.parkCall({ callerIdNumber: '+14045550000', dialplanSet: { callguard_mode: 'park' } });
 *   await parked.whenParked();           // CHANNEL_PARK went to subscribers
 *   parked.pressDigits('2');             // the caller presses a key
 *   const r = await parked.done;         // e.g. { outcome: 'transferred', transfer: { destination: '1000', ... } }
 *
 *   sim.dropConnections();               // cut every event socket (reconnect tests)
 *   await sim.close();
 */

export { FreeSwitchSim } from './sim';
export type { FreeSwitchSimOptions, OutboundCallSpec, SimStats, CommandLogEntry } from './sim';
export { SimChannel, SimChannel as SimCall, DEFAULT_APP_DELAY_MS, DEFAULT_PLAYBACK_MS } from './channel';
export type {
  AnswerState,
  AppContext,
  AppHandler,
  AppRecord,
  BridgeOutcome,
  CallOutcome,
  CallResult,
  CallSpec,
  CommandKind,
  CommandRecord,
  TransferVia,
} from './types';
export { CAUSES, parseCause, sipStatusToCause } from './causes';
export type { Cause } from './causes';
export { expandVariables, separateString } from './expand';
export type { SimEvent } from './events';
export * from './wire';
export { parseTranscript, streamFrom } from './transcript';
export type { TranscriptBlock } from './transcript';
export { preprocess } from './preprocess';
export type { PreprocessResult } from './preprocess';
export { childrenNamed, hunt, locateContext, parseXml } from './xml-dialplan';
export type { DialplanAction, Hunt, XmlNode } from './xml-dialplan';
export type { RouteEnding, RouteResult } from './route';
export { SimScheduler } from './scheduler';
