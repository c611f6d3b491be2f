const SPECIAL = /[\\\t\n\r\0]/g;
const ESCAPED: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '' };

/**
 * Rows in COPY's text format (tab-separated, one line a row, \N for NULL): the fastest
 * way into PostgreSQL. Inside a value, backslash, tab, newline and carriage return are
 * written as backslash escapes, so a caller name holding any of them arrives as it was.
 * NUL characters are removed, as the log shipper does (postgres/log-operations.ts):
 * PostgreSQL text cannot hold them, and one would have the whole copy refused.
 */
export class CopyTextEncoder {
  /** NUL characters removed so far. */
  nulsRemoved = 0;

  private readonly escape = (character: string): string => {
    if (character === '\0') this.nulsRemoved++;
    return ESCAPED[character]!;
  };

  line(row: readonly unknown[]): string {
    let line = this.field(row[0]);
    for (let i = 1; i < row.length; i++) line += `\t${this.field(row[i])}`;
    return `${line}\n`;
  }

  private field(value: unknown): string {
    if (value === null || value === undefined) return '\\N';
    if (typeof value === 'string') return value.replace(SPECIAL, this.escape);
    if (typeof value === 'number' || typeof value === 'bigint') return String(value);
    throw new Error(`a ${Buffer.isBuffer(value) ? 'binary (BLOB)' : typeof value} value cannot be copied into a text or number column`);
  }
}
