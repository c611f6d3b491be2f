// Event-socket wire format: framing, parsing and serialisation, both directions.
//
// FreeSWITCH -> client: header blocks ("Name: value\n" ... "\n"), optionally
// followed by Content-Length bytes of body. Event bodies (text/event-plain) are
// themselves header blocks whose values are URL-encoded by FreeSWITCH's own
// encoder (not encodeURIComponent: it keeps / ( ) , ' ! ~ and an existing
// upper-case %XX sequence as they are).
//
// client -> FreeSWITCH: a command line plus optional "name: value" lines, ended
// by an empty line; a content-length header announces a body that follows.
// FreeSWITCH does not URL-decode anything a client sends.

export type Header = [name: string, value: string];

const HEX = '0123456789ABCDEF';
// SWITCH_URL_UNSAFE in switch_utils.h.
const UNSAFE = new Set(Array.from('\r\n #%&+:;<=>?@[\\]^`{|}"', (c) => c.charCodeAt(0)));
const isUpperHex = (b: number | undefined): boolean =>
  b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46));

/** switch_url_encode as used by switch_event_serialize: UTF-8 bytes, no double encoding of %XX. */
export function fsUrlEncode(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    // FreeSWITCH leaves "%" + two upper-case hex digits alone (double_encode = false).
    const passThrough = b === 0x25 && i + 2 < bytes.length && isUpperHex(bytes[i + 1]) && isUpperHex(bytes[i + 2]);
    if (!passThrough && (b < 0x20 || b > 0x7e || UNSAFE.has(b))) {
      out += '%' + HEX[b >> 4] + HEX[b & 0x0f];
    } else {
      out += String.fromCharCode(b);
    }
  }
  return out;
}

/** Lenient %XX decoder (either case) that never throws; undecodable bytes become U+FFFD. */
export function fsUrlDecode(value: string): string {
  if (!value.includes('%')) return value;
  const src = Buffer.from(value, 'utf8');
  const out = Buffer.alloc(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0x25 && i + 2 < src.length) {
      const hi = hexVal(src[i + 1]!);
      const lo = hexVal(src[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    out[n++] = b;
  }
  return out.subarray(0, n).toString('utf8');
}

function hexVal(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  return -1;
}

export function getHeader(headers: readonly Header[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of headers) if (k.toLowerCase() === lower) return v;
  return undefined;
}

export function getAllHeaders(headers: readonly Header[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([k]) => k.toLowerCase() === lower).map(([, v]) => v);
}

// ---------------------------------------------------------------------------
// Serialisation (FreeSWITCH -> client)

/** switch_event_serialize(..., encode=TRUE): the body of a text/event-plain frame. */
export function serializeEventPlain(headers: readonly Header[], body?: string): string {
  let s = '';
  for (const [k, v] of headers) {
    const enc = fsUrlEncode(v);
    s += `${k}: ${enc === '' ? '_undef_' : enc}\n`;
  }
  if (body) s += `Content-Length: ${Buffer.byteLength(body, 'utf8')}\n\n${body}`;
  else s += '\n';
  return s;
}

/** switch_event_serialize_json: one flat object; repeated header names stay repeated keys like cJSON does. */
export function serializeEventJson(headers: readonly Header[], body?: string): string {
  const parts = headers.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  if (body) {
    parts.push(`"Content-Length":${JSON.stringify(String(Buffer.byteLength(body, 'utf8')))}`);
    parts.push(`"_body":${JSON.stringify(body)}`);
  }
  return `{${parts.join(',')}}`;
}

const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** switch_event_xmlize, close enough for clients that parse XML events. */
export function serializeEventXml(headers: readonly Header[], body?: string): string {
  let s = '<event>\n  <headers>\n';
  for (const [k, v] of headers) s += `    <${k}>${xmlEscape(v)}</${k}>\n`;
  s += '  </headers>\n';
  if (body) s += `  <Content-Length>${Buffer.byteLength(body, 'utf8')}</Content-Length>\n  <body>${xmlEscape(body)}</body>\n`;
  return s + '</event>';
}

export type EventFormat = 'plain' | 'json' | 'xml';

export function frameEvent(format: EventFormat, headers: readonly Header[], body?: string): Buffer {
  const payload =
    format === 'json'
      ? serializeEventJson(headers, body)
      : format === 'xml'
        ? serializeEventXml(headers, body)
        : serializeEventPlain(headers, body);
  const len = Buffer.byteLength(payload, 'utf8');
  return Buffer.from(`Content-Length: ${len}\nContent-Type: text/event-${format}\n\n${payload}`, 'utf8');
}

/** An outer header block exactly as written (no encoding), ended by the blank line. */
export function serializeHeaderBlock(headers: readonly Header[]): string {
  return headers.map(([k, v]) => `${k}: ${v}\n`).join('') + '\n';
}

export const frameAuthRequest = (): Buffer => Buffer.from('Content-Type: auth/request\n\n');

export function frameCommandReply(replyText: string, extra: readonly Header[] = []): Buffer {
  return Buffer.from(serializeHeaderBlock([['Content-Type', 'command/reply'], ['Reply-Text', replyText], ...extra]), 'utf8');
}

export function frameApiResponse(body: string): Buffer {
  const len = Buffer.byteLength(body, 'utf8');
  return Buffer.from(`Content-Type: api/response\nContent-Length: ${len}\n\n${body}`, 'utf8');
}

export const GOODBYE = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';

/** send_disconnect(): with a controlled session it names the UUID and the disposition. */
export function frameDisconnectNotice(sessionUuid?: string, message = GOODBYE): Buffer {
  const len = Buffer.byteLength(message, 'utf8');
  const head = sessionUuid
    ? `Content-Type: text/disconnect-notice\nControlled-Session-UUID: ${sessionUuid}\nContent-Disposition: disconnect\nContent-Length: ${len}\n\n`
    : `Content-Type: text/disconnect-notice\nContent-Length: ${len}\n\n`;
  return Buffer.from(head + message, 'utf8');
}

/** The notice a lingering outbound socket gets when its channel hangs up (-1 = forever). */
export function frameLingerNotice(sessionUuid: string, channelName: string, lingerSeconds: number): Buffer {
  return Buffer.from(
    'Content-Type: text/disconnect-notice\n' +
      `Controlled-Session-UUID: ${sessionUuid}\n` +
      'Content-Disposition: linger\n' +
      `Channel-Name: ${channelName}\n` +
      `Linger-Time: ${lingerSeconds}\n` +
      'Content-Length: 0\n\n',
    'utf8',
  );
}

// ---------------------------------------------------------------------------
// Parsing FreeSWITCH -> client frames

export interface Frame {
  /** Outer headers, values exactly as on the wire (not decoded). */
  headers: Header[];
  body: Buffer | undefined;
  /** The exact bytes of this frame. */
  raw: Buffer;
}

export interface FrameParserOptions {
  maxHeaderBytes?: number;
  maxBodyBytes?: number;
}

/**
 * Incremental parser for what FreeSWITCH sends. It never throws: oversize or
 * unterminated garbage is reported through `errors` and dropped.
 */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  private readonly maxHeader: number;
  private readonly maxBody: number;
  readonly errors: string[] = [];

  constructor(opts: FrameParserOptions = {}) {
    this.maxHeader = opts.maxHeaderBytes ?? 1 << 20;
    this.maxBody = opts.maxBodyBytes ?? 16 << 20;
  }

  push(chunk: Buffer | string): Frame[] {
    this.buf = Buffer.concat([this.buf, typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const end = this.buf.indexOf('\n\n');
      if (end < 0) {
        if (this.buf.length > this.maxHeader) {
          this.errors.push(`header block exceeds ${this.maxHeader} bytes`);
          this.buf = Buffer.alloc(0);
        }
        return frames;
      }
      const headers = parseHeaderLines(this.buf.subarray(0, end).toString('utf8'));
      const lenText = getHeader(headers, 'Content-Length');
      const len = lenText !== undefined && /^\s*\d+\s*$/.test(lenText) ? Number(lenText) : 0;
      if (len > this.maxBody) {
        this.errors.push(`Content-Length ${len} exceeds ${this.maxBody}`);
        this.buf = this.buf.subarray(end + 2);
        continue;
      }
      if (this.buf.length < end + 2 + len) return frames;
      const raw = Buffer.from(this.buf.subarray(0, end + 2 + len));
      const body = len > 0 ? raw.subarray(end + 2) : undefined;
      this.buf = this.buf.subarray(end + 2 + len);
      frames.push({ headers, body, raw });
    }
  }

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.buf.length;
  }
}

/** "Name: value" lines; lines without a colon are kept with an empty name so nothing is silently lost. */
export function parseHeaderLines(text: string): Header[] {
  const out: Header[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line === '') continue;
    const idx = line.indexOf(':');
    if (idx < 0) {
      out.push(['', line]);
      continue;
    }
    out.push([line.slice(0, idx), line.slice(idx + 1).replace(/^ /, '')]);
  }
  return out;
}

export interface DecodedEvent {
  /** Headers with values URL-decoded. */
  headers: Header[];
  body: string | undefined;
}

/** Decode the body of a text/event-plain frame (values URL-decoded, inner Content-Length honoured in bytes). */
export function parseEventPlain(body: Buffer): DecodedEvent {
  const end = body.indexOf('\n\n');
  const headText = (end < 0 ? body : body.subarray(0, end)).toString('utf8');
  const headers = parseHeaderLines(headText).map(([k, v]): Header => [k, fsUrlDecode(v)]);
  const lenText = getHeader(headers, 'Content-Length');
  let inner: string | undefined;
  if (end >= 0 && lenText !== undefined && /^\d+$/.test(lenText)) {
    inner = body.subarray(end + 2, end + 2 + Number(lenText)).toString('utf8');
  }
  return { headers, body: inner };
}

/** Decode the body of a text/event-json frame. Returns undefined for invalid JSON. */
export function parseEventJson(body: Buffer): DecodedEvent | undefined {
  let data: unknown;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const headers: Header[] = [];
  let inner: string | undefined;
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (k === '_body') inner = String(v);
    else if (Array.isArray(v)) for (const item of v) headers.push([k, String(item)]);
    else headers.push([k, String(v)]);
  }
  return { headers, body: inner };
}

export type FrameKind =
  | 'auth/request'
  | 'command/reply'
  | 'api/response'
  | 'text/event-plain'
  | 'text/event-json'
  | 'text/event-xml'
  | 'text/disconnect-notice'
  | 'log/data'
  | 'unknown';

export interface DecodedFrame {
  kind: FrameKind;
  contentType: string | undefined;
  /** Outer headers, decoded (the outbound channel-data reply carries URL-encoded values there). */
  headers: Header[];
  /** For events: the event's own headers, decoded; otherwise undefined. */
  event: DecodedEvent | undefined;
  body: string | undefined;
}

const KINDS: readonly FrameKind[] = [
  'auth/request',
  'command/reply',
  'api/response',
  'text/event-plain',
  'text/event-json',
  'text/event-xml',
  'text/disconnect-notice',
  'log/data',
];

export function decodeFrame(frame: Frame): DecodedFrame {
  const contentType = getHeader(frame.headers, 'Content-Type');
  const kind = (KINDS as readonly string[]).includes(contentType ?? '') ? (contentType as FrameKind) : 'unknown';
  const headers = frame.headers.map(([k, v]): Header => [k, fsUrlDecode(v)]);
  let event: DecodedEvent | undefined;
  if (frame.body && kind === 'text/event-plain') event = parseEventPlain(frame.body);
  else if (frame.body && kind === 'text/event-json') event = parseEventJson(frame.body);
  return { kind, contentType, headers, event, body: frame.body?.toString('utf8') };
}

// ---------------------------------------------------------------------------
// Parsing client -> FreeSWITCH commands (mod_event_socket read_packet semantics)

export interface Command {
  /** First line, without line terminators. */
  command: string;
  /** Further "name: value" lines; values are raw (leading spaces removed), never decoded. */
  headers: Header[];
  body: string | undefined;
  /** The whole packet text, for logs. */
  raw: string;
}

export interface CommandParserOptions {
  /** read_packet stops waiting for the blank line after this many bytes (FreeSWITCH: 10 MiB). */
  maxHeaderBytes?: number;
  maxBodyBytes?: number;
}

/**
 * Incremental client-command parser. Like read_packet it skips stray CR/LF
 * before a command, treats CR as transparent when looking for the empty line,
 * ignores lines without a colon and reads a body when a header says
 * content-length. Oversized input sets `failed` instead of throwing.
 */
export class CommandParser {
  private buf: Buffer = Buffer.alloc(0);
  private pendingBody: { cmd: Command; len: number } | undefined;
  private readonly maxHeader: number;
  private readonly maxBody: number;
  failed: string | undefined;

  constructor(opts: CommandParserOptions = {}) {
    this.maxHeader = opts.maxHeaderBytes ?? 1 << 20;
    this.maxBody = opts.maxBodyBytes ?? 10 << 20;
  }

  push(chunk: Buffer | string): Command[] {
    if (this.failed) return [];
    this.buf = Buffer.concat([this.buf, typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk]);
    const out: Command[] = [];
    for (;;) {
      if (this.pendingBody) {
        const { cmd, len } = this.pendingBody;
        if (this.buf.length < len) return out;
        const body = this.buf.subarray(0, len).toString('utf8');
        this.buf = this.buf.subarray(len);
        this.pendingBody = undefined;
        // read_packet stores the body with "%s": it ends at the first NUL.
        const nul = body.indexOf('\0');
        cmd.body = nul >= 0 ? body.slice(0, nul) : body;
        cmd.raw += cmd.body;
        out.push(cmd);
        continue;
      }
      let start = 0;
      while (start < this.buf.length && (this.buf[start] === 0x0a || this.buf[start] === 0x0d)) start++;
      if (start) this.buf = this.buf.subarray(start);
      if (this.buf.length === 0) return out;
      const end = findPacketEnd(this.buf);
      let packet: Buffer;
      if (end < 0) {
        if (this.buf.length < this.maxHeader) return out;
        // FreeSWITCH gives up waiting and parses what it has.
        packet = this.buf.subarray(0, this.maxHeader);
        this.buf = this.buf.subarray(this.maxHeader);
      } else {
        packet = this.buf.subarray(0, end);
        this.buf = this.buf.subarray(end);
      }
      const cmd = parseCommandPacket(packet.toString('utf8'));
      const lenText = getHeader(cmd.headers, 'content-length');
      const len = lenText === undefined ? 0 : Number.parseInt(lenText, 10);
      if (Number.isFinite(len) && len > 0) {
        if (len > this.maxBody) {
          this.failed = `content-length ${len} exceeds ${this.maxBody}`;
          return out;
        }
        this.pendingBody = { cmd, len };
        continue;
      }
      out.push(cmd);
    }
  }
}

/** Index just past the second consecutive LF (CRs in between do not count or reset). */
function findPacketEnd(buf: Buffer): number {
  let lf = 0;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b === 0x0a) {
      lf++;
      if (lf === 2) return i + 1;
    } else if (b !== 0x0d) {
      lf = 0;
    }
  }
  return -1;
}

function parseCommandPacket(text: string): Command {
  const lines = text.split(/[\r\n]+/);
  const command = lines[0] ?? '';
  const headers: Header[] = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const idx = line.indexOf(':');
    if (idx < 0) continue;
    headers.push([line.slice(0, idx), line.slice(idx + 1).replace(/^ +/, '')]);
  }
  return { command, headers, body: undefined, raw: text };
}
