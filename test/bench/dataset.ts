import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** The benchmark's world: 1,000 tenants with one DID each, a million numbers, thousands of prefixes. */
export const TENANTS = 1000;
export const EXACT_RULES = 995_000;
export const PREFIX_RULES = 5000;

/** The i-th distinct NANP number (area code 201-900, exchange 200-899, then the line). */
export function benchNumber(i: number): string {
  const npa = 201 + (i % 700);
  const nxx = 200 + (Math.floor(i / 700) % 700);
  const line = 1000 + Math.floor(i / 490_000) * 7 + (i % 7);
  return `+1${npa}${nxx}${line}`;
}

export function didOf(tenant: number): string {
  return `+1555${String(2000000 + tenant).padStart(7, '0')}`;
}

function scopeOf(i: number): string {
  return i % 10 === 0 ? 'global' : `tenant:t${i % TENANTS}`;
}

/** Writes the import file: header, then one rule per line. */
export async function writeRulesCsv(path: string): Promise<number> {
  const out = createWriteStream(path);
  const write = async (line: string) => {
    if (!out.write(line)) await once(out, 'drain');
  };
  await write('pattern,action,scope\n');
  for (let i = 0; i < EXACT_RULES; i++) await write(`${benchNumber(i)},block,${scopeOf(i)}\n`);
  for (let i = 0; i < PREFIX_RULES; i++) {
    const npa = 201 + (i % 700);
    const nxx = 200 + (Math.floor(i / 700) % 700);
    const prefix = i < 700 ? `${npa}` : `${npa}-${nxx}`;
    await write(`${prefix},challenge,${scopeOf(i * 13)}\n`);
  }
  out.end();
  await once(out, 'finish');
  return EXACT_RULES + PREFIX_RULES;
}
