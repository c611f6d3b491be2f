import { BadInput } from '../engine/bad-input';
import { parseHostPort } from './host-port';
import type { PbxConnection } from './pbx-list';
import type { AgentConfig } from './schema';

/** A listening socket or a switch one agent would use, and the key that names it. */
interface Use {
  readonly key: string;
  readonly what: string;
  /** Two uses with the same identity clash. */
  readonly identity: string;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::']);


/** Two listen addresses take the same port when their ports match and a host is the same or a wildcard. */
function sameListener(a: string, b: string): boolean {
  const x = parseHostPort(a);
  const y = parseHostPort(b);
  const [hostX, hostY] = [x.host.toLowerCase(), y.host.toLowerCase()];
  return x.port === y.port && (hostX === hostY || WILDCARD_HOSTS.has(hostX) || WILDCARD_HOSTS.has(hostY));
}

/**
 * What one agent's connections would trip over at start, caught before anything starts:
 * two listeners on one port (the second would fail to bind, again and again), two
 * connections to one FreeSWITCH event socket or one Asterisk application (every call
 * screened twice, or the application taken from under itself), and a pair setting where
 * it means nothing. Throws naming the key of the second of each pair.
 */
export function checkConnectionClashes(config: AgentConfig, connections: readonly PbxConnection[]): void {
  const listed = config.pbxes.length > 0;
  const keyOf = (i: number, section: string, key: string) => (listed ? `pbxes[${i}].${key}` : `${section}.${key}`);
  const listeners: Use[] = [];
  const switches: Use[] = [];
  connections.forEach((connection, i) => {
    if (connection.kind === 'asterisk') {
      const { url, app, pairAs } = connection.asterisk;
      const application = pairAs ? `${app}-${pairAs}` : app;
      switches.push({ key: keyOf(i, 'asterisk', 'app'), what: `Stasis application ${application} at ${url}`, identity: `ari ${url.replace(/\/+$/, '').toLowerCase()} ${application}` });
      return;
    }
    const { mode, listen, esl, pairAs } = connection.freeswitch;
    if (mode === 'outbound') {
      if (pairAs) throw new BadInput(`${keyOf(i, 'freeswitch', 'pairAs')}: only for inbound mode; in outbound mode a pair is the socket action naming both agents (socket <a>|<b> full)`);
      listeners.push({ key: keyOf(i, 'freeswitch', 'listen'), what: `${connection.name}'s listen address`, identity: listen });
    } else {
      switches.push({ key: keyOf(i, 'freeswitch', 'esl'), what: `the event socket at ${esl}`, identity: `esl ${esl.toLowerCase()}` });
    }
  });
  if (config.http.enabled) listeners.push({ key: 'http.listen', what: "the HTTP hook's address", identity: config.http.listen });
  if (config.console.enabled) listeners.push({ key: 'console.listen', what: "the console's address", identity: config.console.listen });
  listeners.forEach((use, i) => {
    const earlier = listeners.slice(0, i).find((other) => sameListener(other.identity, use.identity));
    if (earlier) throw new BadInput(`${use.key}: ${use.identity} is already ${earlier.what} (${earlier.key}); give each its own port`);
  });
  switches.forEach((use, i) => {
    const earlier = switches.slice(0, i).find((other) => other.identity === use.identity);
    if (earlier) throw new BadInput(`${use.key}: ${use.what} is already served by ${earlier.key}; one agent connects to it once`);
  });
}
