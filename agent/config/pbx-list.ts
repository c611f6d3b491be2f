import { BadInput } from '../engine/bad-input';
import { checkConnectionClashes } from './connection-clashes';
import { CONFIG_DEFAULTS } from './schema';
import type { AgentConfig } from './schema';

/**
 * The PBX connections of one agent. `pbxes` in the config file lists them, each named,
 * each a FreeSWITCH (outbound or inbound) or Asterisk connection whose keys are those of
 * the `freeswitch` or `asterisk` section and override it. Without `pbxes`, `pbx` (or
 * `--pbx`) and those sections are the shorthand for one connection named after its kind.
 */
export type PbxKind = 'freeswitch' | 'asterisk';

export type PbxConnection =
  | { readonly name: string; readonly kind: 'freeswitch'; readonly freeswitch: AgentConfig['freeswitch'] }
  | { readonly name: string; readonly kind: 'asterisk'; readonly asterisk: AgentConfig['asterisk'] };

/** One entry of `pbxes` as the file holds it. */
export type PbxEntry = { readonly name: string; readonly pbx: PbxKind } & Readonly<Record<string, unknown>>;

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const KINDS: readonly PbxKind[] = ['freeswitch', 'asterisk'];

/** The environment variable holding one connection's password: `fs-east` → CALLGUARD_PBX_FS_EAST_PASSWORD. */
export function pbxPasswordVariable(name: string): string {
  return `CALLGUARD_PBX_${name.toUpperCase().replaceAll('-', '_')}_PASSWORD`;
}

const shown = (value: unknown) => JSON.stringify(value)?.slice(0, 60);

/**
 * Every problem with a `pbxes` value, each naming its key (`pbxes[1].mode`); `check`
 * judges a setting by its section key (`freeswitch.mode`), as the sections are judged.
 */
export function pbxListErrors(value: unknown, check: (path: string, value: unknown) => string | null): string[] {
  if (!Array.isArray(value)) return [`pbxes: expected a list of PBX connections, got ${shown(value)}`];
  const errors: string[] = [];
  const named = new Map<string, number>();
  value.forEach((entry: unknown, i) => {
    const at = `pbxes[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      errors.push(`${at}: expected an object such as {"name": "fs-east", "pbx": "freeswitch", "mode": "outbound"}`);
      return;
    }
    const { name, pbx, ...settings } = entry as Record<string, unknown>;
    if (typeof name !== 'string' || !NAME.test(name)) {
      errors.push(`${at}.name: expected a name of up to 32 characters a-z, 0-9 and - (such as fs-east), got ${shown(name)}`);
    } else if (named.has(name)) {
      errors.push(`${at}.name: "${name}" already names pbxes[${named.get(name)}]`);
    } else {
      named.set(name, i);
    }
    if (!KINDS.includes(pbx as PbxKind)) {
      errors.push(`${at}.pbx: expected one of "freeswitch", "asterisk", got ${shown(pbx)}`);
      return;
    }
    const section = CONFIG_DEFAULTS[pbx as PbxKind] as Record<string, unknown>;
    for (const [key, setting] of Object.entries(settings)) {
      if (!(key in section)) {
        errors.push(`${at}.${key}: not a setting of a ${String(pbx)} connection`);
        continue;
      }
      const problem = check(`${String(pbx)}.${key}`, setting);
      // Passwords are never repeated back.
      if (problem) errors.push(/password/i.test(key) ? `${at}.${key}: ${problem}` : `${at}.${key}: ${problem}, got ${shown(setting)}`);
    }
  });
  return errors;
}

function listed(entry: PbxEntry, i: number, config: AgentConfig, env: NodeJS.ProcessEnv): PbxConnection {
  const { name, pbx, ...settings } = entry;
  const at = `pbxes[${i}]`;
  const variable = pbxPasswordVariable(name);
  const fromEnv = env[variable] || undefined;
  if (pbx === 'asterisk') {
    const asterisk = { ...config.asterisk, ...settings } as AgentConfig['asterisk'];
    const password = fromEnv ?? asterisk.password;
    if (!password) throw new BadInput(`${at}.password: ${name} needs its ARI password: set ${variable} (or ${at}.password)`);
    return { name, kind: 'asterisk', asterisk: { ...asterisk, password } };
  }
  // A pair letter given for the whole agent (the section, --pair-as) means nothing to an outbound switch: only its own entry's is judged.
  const outbound = (settings.mode ?? config.freeswitch.mode) === 'outbound';
  const inherited = outbound && !('pairAs' in settings) ? { pairAs: null } : {};
  const freeswitch = { ...config.freeswitch, ...settings, ...inherited } as AgentConfig['freeswitch'];
  if (freeswitch.mode !== 'outbound' && freeswitch.mode !== 'inbound') {
    throw new BadInput(`${at}.mode: ${name} needs a mode: "outbound" (the dialplan connects to callguard) or "inbound" (callguard connects to FreeSWITCH)`);
  }
  const eslPassword = fromEnv ?? freeswitch.eslPassword;
  if (freeswitch.mode === 'inbound' && !eslPassword) {
    throw new BadInput(`${at}.eslPassword: ${name} needs its event-socket password: set ${variable} (or ${at}.eslPassword)`);
  }
  return { name, kind: 'freeswitch', freeswitch: { ...freeswitch, eslPassword } };
}

/**
 * The connections to serve: every entry of `pbxes`, each section's settings under its
 * own and its password from CALLGUARD_PBX_<NAME>_PASSWORD first; else the one connection
 * `pbx` names (the single-switch flags), whose settings serve checks as before.
 */
export function pbxConnections(config: AgentConfig, env: NodeJS.ProcessEnv): PbxConnection[] {
  const connections = named(config, env);
  checkConnectionClashes(config, connections);
  return connections;
}

function named(config: AgentConfig, env: NodeJS.ProcessEnv): PbxConnection[] {
  if (config.pbxes.length > 0) {
    if (config.pbx !== null) throw new BadInput('pbx: leave out pbx (and --pbx) when pbxes lists the switches');
    return config.pbxes.map((entry, i) => listed(entry, i, config, env));
  }
  if (config.pbx === 'asterisk') return [{ name: 'asterisk', kind: 'asterisk', asterisk: config.asterisk }];
  if (config.pbx === 'freeswitch') return [{ name: 'freeswitch', kind: 'freeswitch', freeswitch: config.freeswitch }];
  throw new BadInput('which PBX? --pbx freeswitch or --pbx asterisk (or pbx, or a pbxes list, in the config file)');
}
