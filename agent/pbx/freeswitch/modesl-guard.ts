interface ParserPrototype {
  _onData(this: ParserInstance, data: Buffer): unknown;
  _parseHeaderText(text: string): Record<string, string | number>;
}
interface ParserInstance {
  emit(event: string, value: unknown): void;
}

/** `%XX` runs decoded where they form valid UTF-8; anything else is kept as written. */
export function lenientDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

let installed = false;

/**
 * modesl 1.2.1 decodes every header with decodeURIComponent inside a socket 'data'
 * handler: a caller name that FreeSWITCH passes through as `Jos%E9` throws there
 * and takes the whole process down. Its parser gets a lenient decoder, and any
 * other exception while parsing a frame becomes an 'error' on that one connection.
 */
export function guardModesl(): void {
  if (installed) return;
  installed = true;
  const parser = (require('modesl/lib/esl/Parser') as { prototype: ParserPrototype }).prototype;
  parser._parseHeaderText = (text: string) => {
    const headers: Record<string, string | number> = {};
    for (const line of text.split('\n')) {
      const colon = line.indexOf(': ');
      const key = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : lenientDecode(line.slice(colon + 2));
      headers[key] = key === 'Content-Length' ? Number.parseInt(value, 10) || 0 : value;
    }
    return headers;
  };
  const onData = parser._onData;
  parser._onData = function guardedOnData(this: ParserInstance, data: Buffer) {
    try {
      return onData.call(this, data);
    } catch (error) {
      this.emit('error', error);
      return undefined;
    }
  };
}
