import ipaddr from 'ipaddr.js';
import { BadInput } from './bad-input';

/** One address or network, keyed so that a caller's covering networks can be looked up by equality. */
export interface IpNetwork {
  readonly key: string;
  readonly bits: number;
  readonly exact: boolean;
}

function keyOf(address: ipaddr.IPv4 | ipaddr.IPv6, bits: number): string {
  const bytes = address.toByteArray();
  const masked = bytes.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
  const family = address.kind() === 'ipv4' ? 'ip4' : 'ip6';
  const text = ipaddr.fromByteArray(masked).toString();
  return `${family}:${text}/${bits}`;
}

/** `203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`; host bits past the mask are cleared. */
export function parseIpPattern(text: string): IpNetwork {
  const trimmed = text.trim();
  try {
    if (trimmed.includes('/')) {
      let [address, bits] = ipaddr.parseCIDR(trimmed);
      // Callers' IPv4-mapped IPv6 addresses are read as IPv4 (coveringNetworkKeys): a mapped network must be keyed so too.
      if (address.kind() === 'ipv6' && bits >= 96 && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
        address = (address as ipaddr.IPv6).toIPv4Address();
        bits -= 96;
      }
      const width = address.kind() === 'ipv4' ? 32 : 128;
      return { key: keyOf(address, bits), bits, exact: bits === width };
    }
    const address = ipaddr.process(trimmed);
    const width = address.kind() === 'ipv4' ? 32 : 128;
    return { key: keyOf(address, width), bits: width, exact: true };
  } catch {
    throw new BadInput(`bad IP address or network "${text}": expected e.g. 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32`);
  }
}

/** Shaped like an address (dotted quad, or hex groups with colons): it is parsed as one, or refused. */
export function looksLikeIp(text: string): boolean {
  const address = text.trim().split('/')[0] ?? '';
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(address) || (/^[0-9a-f:.]+$/i.test(address) && address.split(':').length > 2);
}

/** Keys of the networks of the given sizes that contain `address` (a signalled, untrusted value). */
export function coveringNetworkKeys(address: string, sizes: readonly number[]): string[] {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address.trim());
  } catch {
    return [];
  }
  const width = parsed.kind() === 'ipv4' ? 32 : 128;
  const keys: string[] = [];
  for (const bits of sizes) if (bits <= width) keys.push(keyOf(parsed, bits));
  return keys;
}
