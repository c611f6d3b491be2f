/**
 * A table or column name of callguard's own schema, checked and double-quoted for SQL text.
 * Names cannot be bound as `?` parameters, so every one a statement is built with (the
 * generic copiers walk tables by name) passes here; anything but a plain lower-case name is
 * refused rather than quoted.
 */
export function sqlIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a callguard table or column name: ${JSON.stringify(name)}`);
  return `"${name}"`;
}
