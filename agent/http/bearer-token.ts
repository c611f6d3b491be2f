import { createHash, timingSafeEqual } from 'node:crypto';
import { BadInput } from '../engine/bad-input';

export type TokenCheck = 'ok' | 'missing' | 'wrong';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <token>` against the configured token in constant time:
 * both sides are hashed first, so `timingSafeEqual` always compares equal-length buffers
 * and not even the token's length leaks. The token itself is kept only as its digest.
 */
export function bearerTokenCheck(token: string): (authorization: string | undefined) => TokenCheck {
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new BadInput('bad hook token: expected printable ASCII without spaces (it travels in an HTTP header)');
  }
  const expected = digest(token);
  return (authorization) => {
    const presented = /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization ?? '')?.[1];
    if (presented === undefined) return 'missing';
    return timingSafeEqual(digest(presented), expected) ? 'ok' : 'wrong';
  };
}
