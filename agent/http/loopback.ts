import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Whether `host` only ever reaches this machine: 127.0.0.0/8, ::1 (also IPv4-mapped, and
 * written in brackets) or `localhost`. Any other name counts as reachable from outside,
 * since it may resolve to anything.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1');
  if (bare.toLowerCase() === 'localhost') return true;
  return isIP(bare) !== 0 && ipaddr.process(bare).range() === 'loopback';
}
