/** What a store URL points at, for messages: never its password. */
export interface StoreAddress {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** `host:port/database` (a socket directory for a host is shown as it is). */
  readonly label: string;
  /** The URL with any password left out, for a command to copy. */
  readonly safeUrl: string;
}

const DEFAULT_PORT = 5432;

/**
 * Reads a postgres:// or postgresql:// URL as libpq does (a percent-encoded host or
 * `?host=` is a socket directory; the database defaults to the user's name); null when
 * it is not one.
 */
export function storeAddress(url: string): StoreAddress | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') return null;
  try {
    const host = parsed.searchParams.get('host') || decodeURIComponent(parsed.hostname) || 'localhost';
    const port = Number(parsed.searchParams.get('port') || parsed.port || DEFAULT_PORT);
    const user = decodeURIComponent(parsed.username) || parsed.searchParams.get('user') || process.env.PGUSER || process.env.USER || 'postgres';
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || user;
    if (!Number.isInteger(port) || port <= 0 || port > 65_535) return null;
    const hostInUrl = host.startsWith('/') ? encodeURIComponent(host) : host;
    return {
      host,
      port,
      database,
      user,
      label: `${host}:${port}/${database}`,
      safeUrl: `${parsed.protocol}//${encodeURIComponent(user)}@${hostInUrl}:${port}/${encodeURIComponent(database)}`,
    };
  } catch {
    return null; // a malformed percent-escape
  }
}
