/** Output helpers: aligned tables for people, JSON for scripts. */

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Caller-controlled or operator text shown in a table: one line, no terminal control codes. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

export function printTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): void {
  const text = rows.map((row) => row.map(cell));
  const widths = headers.map((header, i) => Math.max(header.length, ...text.map((row) => row[i]?.length ?? 0)));
  const line = (values: readonly string[]) => values.map((value, i) => value.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  process.stdout.write([line(headers), ...text.map(line)].join('\n') + '\n');
}

export function isoOrEmpty(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString();
}
