import { readFileSync } from 'node:fs';
import { BadInput } from '../engine/bad-input';
import { configErrors } from './check';
import { CONFIG_DEFAULTS, ENVIRONMENT } from './schema';
import type { AgentConfig } from './schema';

/** A partial config as dotted keys (`freeswitch.listen`) → values. */
export type Overrides = Readonly<Record<string, unknown>>;

/** The file's JSON, or a BadInput saying why not. */
export function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new BadInput(`cannot read config ${path}: ${error instanceof SyntaxError ? `not JSON (${error.message})` : 'no such file'}`);
  }
}

export function readConfigFile(path: string): Record<string, unknown> {
  const raw = readJson(path);
  const errors = configErrors(raw);
  if (errors.length > 0) throw new BadInput(`config ${path}: ${errors.join('; ')}`);
  return raw as Record<string, unknown>;
}

function set(target: Record<string, unknown>, path: string, value: unknown): void {
  const [section, key] = path.split('.');
  if (key === undefined) target[section!] = value;
  else (target[section!] as Record<string, unknown>)[key] = value;
}

/** Defaults ← file ← environment ← flags; every layer checked, and a bad key named. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv, flags: Overrides): AgentConfig {
  const config = structuredClone(CONFIG_DEFAULTS) as unknown as Record<string, unknown>;
  if (file) {
    for (const [key, value] of Object.entries(readConfigFile(file))) {
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) Object.assign(config[key] as object, value);
      else config[key] = value;
    }
  }
  const layer = (overrides: Overrides, origin: string) => {
    for (const [path, value] of Object.entries(overrides)) {
      if (value === undefined) continue;
      const [section, key] = path.split('.');
      const errors = configErrors(key === undefined ? { [path]: value } : { [section!]: { [key]: value } });
      if (errors.length > 0) throw new BadInput(`${origin}: ${errors.join('; ')}`);
      set(config, path, value);
    }
  };
  layer(Object.fromEntries(Object.entries(ENVIRONMENT).flatMap(([name, path]) => (env[name] ? [[path, env[name]]] : []))), 'environment');
  layer(flags, 'command line');
  return config as unknown as AgentConfig;
}
