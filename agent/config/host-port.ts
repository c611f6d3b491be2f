/** `host:port` as typed by an operator (already checked by the config), split at its last colon, brackets off an IPv6 host. */
export function parseHostPort(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  return { host: text.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(text.slice(colon + 1)) };
}
