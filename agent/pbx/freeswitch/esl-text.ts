/**
 * What may go into the command stream to FreeSWITCH. Commands are header lines, so a
 * line break would start a new command; and FreeSWITCH expands `${…}` in application
 * arguments (recursively, API calls included), so caller-controlled text must never
 * carry `$`, braces or backslashes there.
 */

/** Our own arguments (prompt paths, templates, mailboxes): refused if they could break the framing. */
export function commandArg(text: string): string {
  if (/[\r\n\0]/.test(text)) throw new Error(`refusing an event-socket argument with a line break: ${JSON.stringify(text.slice(0, 80))}`);
  return text;
}

/** A caller name to be shown: one line (no control characters, C1 and line separators included), no expansion syntax, bounded. */
export function displayName(text: string | undefined): string {
  const clean = (text ?? '').replace(/[\p{Cc}\u2028\u2029$\\{}]/gu, '');
  // Cut to 80 UTF-16 units without leaving half a surrogate pair.
  return clean.length <= 80 ? clean : clean.slice(0, /[\ud800-\udbff]/.test(clean[79]!) ? 79 : 80);
}

/** What a destination or context must look like to be handed to transfer: the inbound snippet parks only these. */
export const ROUTE_TOKEN = /^[A-Za-z0-9+*#_.@-]{1,64}$/;

/** A dialplan destination or context taken from the channel: only if plainly safe, else null. */
export function routeToken(text: string | undefined): string | null {
  return text !== undefined && ROUTE_TOKEN.test(text) ? text : null;
}

/**
 * Text as the last argument of an API command (uuid_setvar's value): FreeSWITCH's argument
 * splitter drops single quotes there unless each is escaped.
 */
export function apiValue(text: string): string {
  return commandArg(text).replace(/'/g, "\\'");
}
