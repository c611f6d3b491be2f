/** Small timing helpers for the benchmark: percentiles of per-operation samples. */

export interface Spread {
  readonly median: number;
  readonly p99: number;
  readonly count: number;
}

export function spread(samples: number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { median: at(0.5), p99: at(0.99), count: sorted.length };
}

/** Runs `op` and returns its duration in microseconds. */
export function timeUs(op: () => void): number {
  const start = process.hrtime.bigint();
  op();
  return Number(process.hrtime.bigint() - start) / 1000;
}

export interface Row {
  readonly metric: string;
  readonly measured: string;
  readonly target: string;
  readonly baseline: string;
  readonly ok: boolean;
}

export function printTable(rows: readonly Row[]): void {
  const headers = ['metric', 'measured', 'target', 'baseline (same run)', 'ok'];
  const cells = rows.map((row) => [row.metric, row.measured, row.target, row.baseline, row.ok ? 'yes' : 'NO']);
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((cell) => cell[i]!.length)));
  const line = (values: string[]) => `| ${values.map((value, i) => value.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const cell of cells) console.log(line(cell));
}

export const us = (value: number) => `${value.toFixed(1)} µs`;
export const ms = (value: number) => `${value.toFixed(0)} ms`;
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
