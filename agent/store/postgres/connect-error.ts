import { BadInput } from '../../engine/bad-input';
import type { StoreAddress } from './store-address';

const WHERE_URL = 'the store URL (store.url, --store or CALLGUARD_STORE)';

function codeOf(error: unknown): string {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : '';
}

/**
 * Why a first connection to PostgreSQL failed, as the one line an operator needs: where
 * it tried and what to do. The password is never in it, even if a message echoed it.
 */
export function connectError(error: unknown, address: StoreAddress, password: string, timeoutMs: number): BadInput {
  const code = codeOf(error);
  const raw = error instanceof Error ? error.message : String(error);
  const said = (password ? raw.split(password).join('***') : raw).replace(/\s+/g, ' ').trim();
  const where = `PostgreSQL at ${address.label}`;
  const reach = `cannot reach PostgreSQL at ${address.host}:${address.port}`;
  switch (code) {
    case '28P01':
      return new BadInput(`${where} rejected the password of user "${address.user}": correct it in ${WHERE_URL}`);
    case '28000':
      return new BadInput(`${where} refused user "${address.user}" (${said}): correct the user in ${WHERE_URL} or allow it in the server's pg_hba.conf`);
    case '3D000':
      return new BadInput(
        `PostgreSQL at ${address.host}:${address.port} has no database "${address.database}": create it (createdb -h ${address.host} -p ${address.port} -U ${address.user} ${address.database}) or correct ${WHERE_URL}`,
      );
    case '57P03':
      return new BadInput(`${where} is starting up or shutting down: try again in a moment`);
    case '53300':
      return new BadInput(`${where} has no connection to spare (${said}): raise its max_connections or run fewer clients`);
    case 'ECONNREFUSED':
      return new BadInput(`${reach}: connection refused. Is it running and listening there? Check ${WHERE_URL}`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new BadInput(`${reach}: no such host "${address.host}". Check ${WHERE_URL}`);
    case 'ENOENT':
      return new BadInput(`${reach}: no socket ${address.host}/.s.PGSQL.${address.port}. Is it running? Check ${WHERE_URL}`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
    case 'ETIMEDOUT':
      return new BadInput(`${reach}: ${code}. Check ${WHERE_URL} and the network between`);
  }
  if (/timeout/i.test(raw)) {
    return new BadInput(`${reach}: no answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${timeoutMs / 1000} s`}. Check the host and port in ${WHERE_URL}, and any firewall between`);
  }
  if (/SASL|password must be a string|password authentication/i.test(raw)) {
    return new BadInput(`${where} wants a password for user "${address.user}": add it to ${WHERE_URL}`);
  }
  return new BadInput(`cannot connect to ${where}: ${said}`);
}

/** Network-level codes, and PostgreSQL's connection-exception class (08) and shutdown codes (57P01-57P03). */
const UNREACHABLE = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|08...|57P0[123])$/;

/**
 * Whether a statement failed because PostgreSQL could not be reached (away, restarting,
 * the network cut), as opposed to the statement itself failing: a request that met it
 * can be tried again in a moment.
 */
export function isStoreUnreachable(error: unknown): boolean {
  if (UNREACHABLE.test(codeOf(error))) return true;
  const message = error instanceof Error ? error.message : '';
  return /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout)/.test(message);
}
