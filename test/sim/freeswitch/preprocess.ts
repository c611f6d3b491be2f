// FreeSWITCH's configuration preprocessor (src/switch_xml.c, preprocess and
// preprocess_glob), which runs line by line over conf files before any XML parser sees
// them. What matters for files we ship:
// - a line holding "<include>", "</include>" or "<?" is dropped whole, whatever else is on it;
// - "<X-PRE-PROCESS ... cmd="include" data="..."/>" is carried out wherever it stands,
//   inside an XML comment too; a line naming X-PRE-PROCESS without the "<" is dropped;
// - a relative include path is resolved from the folder of the file that holds it, and a
//   glob is expanded in name order;
// - "$${name}" is replaced by the preprocessor variable on every line, comments included.

import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';

const MAX_DEPTH = 100;

export interface PreprocessResult {
  readonly text: string;
  /** Every file read, in order. */
  readonly files: string[];
  /** What FreeSWITCH would log: includes that matched nothing, unknown variables. */
  readonly warnings: string[];
}

export function preprocess(file: string, variables: Readonly<Record<string, string>> = {}): PreprocessResult {
  const files: string[] = [];
  const warnings: string[] = [];
  const out: string[] = [];
  const run = (path: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Error(`include depth over ${MAX_DEPTH} at ${path}`);
    files.push(path);
    const cwd = dirname(path);
    for (const raw of readFileSync(path, 'utf8').split('\n')) {
      const line = raw.replace(/\$\$\{([^}]*)\}/g, (_, name: string) => {
        if (variables[name] === undefined) warnings.push(`${path}: unknown preprocessor variable $\${${name}}`);
        return variables[name] ?? '';
      });
      if (line.includes('<include>') || line.includes('</include>') || line.includes('<?')) continue;
      const at = line.search(/X-pre-process/i);
      if (at >= 0) {
        if (line[at - 1] !== '<') continue;
        const command = /cmd\s*=\s*"([^"]*)"/i.exec(line.slice(at))?.[1];
        const data = /data\s*=\s*"([^"]*)"/i.exec(line.slice(at))?.[1];
        if (command?.toLowerCase() === 'include' && data !== undefined) {
          const pattern = isAbsolute(data) ? data : join(cwd, data);
          const matched = glob(pattern);
          if (!matched.length) warnings.push(`No files to include at ${pattern}`);
          for (const included of matched) run(included, depth + 1);
        }
        continue;
      }
      out.push(line);
    }
  };
  run(file, 0);
  return { text: out.join('\n'), files, warnings };
}

/** glob(3) for a pattern whose wildcards are only in its last part, in name order. */
function glob(pattern: string): string[] {
  const folder = dirname(pattern);
  const name = basename(pattern);
  if (!/[*?[]/.test(name)) {
    try {
      readFileSync(pattern);
      return [pattern];
    } catch {
      return [];
    }
  }
  const re = new RegExp(`^${name.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  let entries: string[];
  try {
    entries = readdirSync(folder, { withFileTypes: true })
      .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && re.test(entry.name))
      .map((entry) => entry.name);
  } catch {
    return [];
  }
  return entries.sort().map((entry) => join(folder, entry));
}
