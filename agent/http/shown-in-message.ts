const SHOWN_LENGTH = 40;

/** Request text quoted back in an error message: one line, control characters as `?`, cut short. */
export function shownInMessage(text: string): string {
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  const chars = Array.from(line);
  return chars.length > SHOWN_LENGTH ? `${chars.slice(0, SHOWN_LENGTH).join('')}…` : line;
}
