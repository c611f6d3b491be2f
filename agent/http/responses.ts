import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Whether the request carries a body, which no route here reads. */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** Writes a whole answer at once, with its length, so keep-alive works. */
export function send(req: IncomingMessage, res: ServerResponse, status: number, body: string, contentType: string, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    // An unread body is not worth reading just to keep the connection: close it instead.
    ...(hasBody(req) ? { Connection: 'close' } : {}),
    ...headers,
  });
  res.end(body);
}

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers?: OutgoingHttpHeaders): void {
  send(req, res, status, `${JSON.stringify(value)}\n`, 'application/json; charset=utf-8', headers);
}

export function sendText(req: IncomingMessage, res: ServerResponse, status: number, text: string, headers?: OutgoingHttpHeaders): void {
  send(req, res, status, text, 'text/plain; charset=utf-8', headers);
}
