/** Which agent of a failover pair: a screens while it is up, b when it is not. */
export type PairLetter = 'a' | 'b';

export const partnerOf = (letter: PairLetter): PairLetter => (letter === 'a' ? 'b' : 'a');
