import { EXACT_RULES, TENANTS, benchNumber, didOf } from './dataset';

/**
 * A third of the callers have a rule of their own (in the million-rule database), the rest
 * are anyone; one request in five is a text, and every other one asks for the text answer.
 */
export function decidePath(i: number): string {
  const n = (i * 7919) % EXACT_RULES;
  const listed = i % 3 === 0;
  const from = listed ? benchNumber(n) : benchNumber(EXACT_RULES + ((i * 31) % 400_000));
  const to = didOf(listed ? n % TENANTS : i % TENANTS);
  const kind = i % 5 === 4 ? 'sms' : 'call';
  return `/v1/decide?kind=${kind}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}${i % 2 ? '&format=text' : ''}`;
}
