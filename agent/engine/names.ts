import { BadInput } from './bad-input';
import type { MatchSpec } from './patterns';
import type { ActiveRule } from './types';

/**
 * Caller-name rules. A name is compared after normalising it (normalizeName): Unicode
 * compatibility forms folded (NFKC: fullwidth `Ｖ９` is `v9`), every run of whitespace one
 * space, control, format and unassigned characters removed, ends trimmed, case folded.
 *
 * Two forms: a glob (`V9*`: `*` is any run of characters, the only wildcard; a pattern with
 * no `*` is an exact name), and whole words (`SPAM` matches the word anywhere in the name;
 * `CAR WARRANTY` the two words in a row; words are runs of letters, marks and digits).
 *
 * Matching never runs a regular expression built from user input. NameIndex walks the
 * name once per structure, each linear in the name's length whatever the rule set: exact
 * names in a map, `abc*` globs in a trie, the words in a trie of word sequences, and every
 * other glob found by an Aho–Corasick automaton over the globs' longest literal pieces (each
 * automaton node's outputs reported once per name), then checked by a left-to-right pass
 * (leftmost occurrence of each piece in turn: correct for `*`-only globs, no backtracking).
 */

export const NAME_KINDS = ['name', 'name_word'] as const;
/** Longest name pattern, after normalising. */
export const MAX_NAME_PATTERN = 100;

const WHITESPACE = /[\s\p{Zs}\p{Zl}\p{Zp}]+/gu;
const INVISIBLE = /\p{C}+/gu;
const SPACES = / {2,}/g;
const PLAIN = /^[\x20-\x7e]*$/;
const WORD = /[\p{L}\p{M}\p{N}]+/gu;
/** The same for a name of printable ASCII, lower case once normalised. */
const ASCII_WORD = /[a-zA-Z0-9]+/g;

/** The caller ID name as name rules compare it (see the module comment); never throws. */
export function normalizeName(text: string): string {
  // Printable ASCII (most names): nothing to fold or strip but case and spaces.
  if (PLAIN.test(text)) return text.replace(SPACES, ' ').trim().toLowerCase();
  let folded: string;
  try {
    folded = text.normalize('NFKC');
  } catch {
    folded = text;
  }
  return folded.replace(WHITESPACE, ' ').replace(INVISIBLE, '').replace(SPACES, ' ').trim().toUpperCase().toLowerCase();
}

/** The words of a normalised name, in order. */
export function wordsOf(normalized: string): string[] {
  return normalized.match(PLAIN.test(normalized) ? ASCII_WORD : WORD) ?? [];
}

const GLOB_HELP = 'expected a caller name or a glob such as "V9*" (* is any run of characters)';

/** `--name 'V9*'` → a rule match of kind `name`: key the normalised glob, span its count of literal characters. */
export function parseNameGlob(text: string): MatchSpec {
  const pattern = text.trim();
  const key = normalizeName(pattern).replace(/\*+/g, '*');
  if (key === '') throw new BadInput(`empty name pattern: ${GLOB_HELP}`);
  const literal = key.replace(/\*/g, '').replace(/ /g, '');
  if (literal === '') throw new BadInput(`name pattern "${pattern}" has nothing but *, which would match every caller: ${GLOB_HELP}`);
  if (key.length > MAX_NAME_PATTERN) throw new BadInput(`name pattern "${pattern.slice(0, 40)}…" is longer than ${MAX_NAME_PATTERN} characters`);
  const exact = !key.includes('*');
  return { kind: 'name', key, pattern, exact, span: key.replace(/\*/g, '').length };
}

/** `--name-word 'SPAM'` → a rule match of kind `name_word`: key the normalised words, one space apart. */
export function parseNameWords(text: string): MatchSpec {
  const pattern = text.trim();
  if (pattern.includes('*')) throw new BadInput(`whole-word name pattern "${pattern}" takes no *: use --name for a glob`);
  const words = wordsOf(normalizeName(pattern));
  if (words.length === 0) throw new BadInput(`empty name word: expected one or more words (letters or digits), such as "SPAM"`);
  const key = words.join(' ');
  if (key.length > MAX_NAME_PATTERN) throw new BadInput(`name words "${pattern.slice(0, 40)}…" are longer than ${MAX_NAME_PATTERN} characters`);
  return { kind: 'name_word', key, pattern, exact: false, span: key.length };
}

/** Whether a rule is a caller-name rule. */
export function isNameKind(kind: string): kind is (typeof NAME_KINDS)[number] {
  return kind === 'name' || kind === 'name_word';
}

/** `name:V9*`, `name-word:SPAM`: how a name rule is written where a pattern column or argument has no kind (CSV, `rules remove`). */
export function prefixedNamePattern(text: string): MatchSpec | null {
  const trimmed = text.trim();
  const lower = trimmed.toLowerCase();
  if (lower.startsWith('name:')) return parseNameGlob(trimmed.slice('name:'.length));
  if (lower.startsWith('name-word:')) return parseNameWords(trimmed.slice('name-word:'.length));
  return null;
}

/** The pattern column of a name rule in a CSV export: `name:<pattern>` or `name-word:<pattern>`. */
export function writtenNamePattern(kind: string, pattern: string): string {
  return kind === 'name_word' ? `name-word:${pattern}` : `name:${pattern}`;
}

/** How explain describes a name rule. */
export function describeNameMatch(rule: { kind: string; key: string; pattern: string }): string {
  if (rule.kind === 'name_word') return `caller name has the word${rule.key.includes(' ') ? 's' : ''} "${rule.key}"`;
  return rule.key.includes('*') ? `caller name matches "${rule.pattern}"` : `caller name is "${rule.pattern}"`;
}

/** A glob's literal pieces (between `*`), and whether it is anchored at either end. */
interface Glob {
  readonly pieces: readonly string[];
  readonly start: boolean;
  readonly end: boolean;
}

function globOf(key: string): Glob {
  const parts = key.split('*');
  return { pieces: parts.filter((part) => part !== ''), start: !key.startsWith('*'), end: !key.endsWith('*') };
}

/** Whether a normalised name matches a `*`-only glob: each piece at its leftmost place after the last. Linear, never backtracks. */
export function globMatches(name: string, key: string): boolean {
  return matchGlob(name, globOf(key));
}

function matchGlob(name: string, glob: Glob): boolean {
  const { pieces } = glob;
  if (pieces.length === 0) return true;
  let from = 0;
  let first = 0;
  let last = pieces.length;
  if (glob.start) {
    if (!name.startsWith(pieces[0]!)) return false;
    from = pieces[0]!.length;
    first = 1;
    if (pieces.length === 1) return !glob.end || name.length === from;
  }
  let tail = name.length;
  if (glob.end) {
    const piece = pieces[pieces.length - 1]!;
    if (!name.endsWith(piece)) return false;
    tail = name.length - piece.length;
    last -= 1;
    if (tail < from) return false;
  }
  for (let i = first; i < last; i++) {
    const at = name.indexOf(pieces[i]!, from);
    if (at < 0 || at + pieces[i]!.length > tail) return false;
    from = at + pieces[i]!.length;
  }
  return true;
}

interface TrieNode<T, K = string> {
  readonly next: Map<K, TrieNode<T, K>>;
  held: T[];
}

function trieNode<T, K = string>(): TrieNode<T, K> {
  return { next: new Map(), held: [] };
}

/** Aho–Corasick over literal pieces; outputs are piece numbers. */
class PieceAutomaton {
  private readonly next: Map<number, number>[] = [new Map()];
  private readonly fail: number[] = [0];
  /** The piece ending at this node, or -1. */
  private readonly piece: number[] = [-1];
  /** The nearest node on the fail chain (excluding this one) that ends a piece, or -1. */
  private readonly outLink: number[] = [-1];
  private built = false;

  add(text: string, id: number): void {
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      let to = this.next[node]!.get(code);
      if (to === undefined) {
        to = this.next.length;
        this.next.push(new Map());
        this.fail.push(0);
        this.piece.push(-1);
        this.outLink.push(-1);
        this.next[node]!.set(code, to);
      }
      node = to;
    }
    this.piece[node] = id;
  }

  private build(): void {
    const queue: number[] = [];
    for (const child of this.next[0]!.values()) queue.push(child);
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head]!;
      for (const [code, child] of this.next[node]!) {
        let fail = this.fail[node]!;
        while (fail !== 0 && !this.next[fail]!.has(code)) fail = this.fail[fail]!;
        const to = this.next[fail]!.get(code);
        this.fail[child] = to !== undefined && to !== child ? to : 0;
        const f = this.fail[child]!;
        this.outLink[child] = this.piece[f]! >= 0 ? f : this.outLink[f]!;
        queue.push(child);
      }
    }
    this.built = true;
  }

  /** Every piece occurring in `text`, each once: O(length + pieces found). */
  found(text: string): number[] {
    if (!this.built) this.build();
    let seen: Set<number> | undefined;
    const found: number[] = [];
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      let to = this.next[node]!.get(code);
      while (to === undefined && node !== 0) {
        node = this.fail[node]!;
        to = this.next[node]!.get(code);
      }
      node = to ?? 0;
      // A node's outputs are reported once: the first visit reports its whole chain.
      for (let out = this.piece[node]! >= 0 ? node : this.outLink[node]!; out >= 0 && !seen?.has(out); out = this.outLink[out]!) {
        (seen ??= new Set()).add(out);
        found.push(this.piece[out]!);
      }
    }
    return found;
  }
}

/** The name rules of one scope, compiled. */
class ScopeNames<R extends { kind: string; key: string }> {
  private readonly exact = new Map<string, R[]>();
  /** By UTF-16 code unit, as the name is walked. */
  private readonly prefixes = trieNode<R, number>();
  private readonly words = trieNode<R>();
  private readonly automaton = new PieceAutomaton();
  private readonly pieceIds = new Map<string, number>();
  private readonly byPiece: { rule: R; glob: Glob }[][] = [];
  private hasWords = false;

  add(rule: R): void {
    if (rule.kind === 'name_word') {
      let node = this.words;
      for (const word of rule.key.split(' ')) {
        let to = node.next.get(word);
        if (!to) node.next.set(word, (to = trieNode()));
        node = to;
      }
      node.held.push(rule);
      this.hasWords = true;
      return;
    }
    const glob = globOf(rule.key);
    if (!rule.key.includes('*')) {
      const held = this.exact.get(rule.key);
      if (held) held.push(rule);
      else this.exact.set(rule.key, [rule]);
      return;
    }
    if (glob.start && !glob.end && glob.pieces.length === 1) {
      let node = this.prefixes;
      const piece = glob.pieces[0]!;
      for (let i = 0; i < piece.length; i++) {
        const code = piece.charCodeAt(i);
        let to = node.next.get(code);
        if (!to) node.next.set(code, (to = trieNode()));
        node = to;
      }
      node.held.push(rule);
      return;
    }
    // Found by its longest piece, checked whole.
    const anchor = glob.pieces.reduce((best, piece) => (piece.length > best.length ? piece : best), '');
    let id = this.pieceIds.get(anchor);
    if (id === undefined) {
      id = this.byPiece.length;
      this.pieceIds.set(anchor, id);
      this.byPiece.push([]);
      this.automaton.add(anchor, id);
    }
    this.byPiece[id]!.push({ rule, glob });
  }

  /** Adds to `found` the rules matching the normalised `name`. */
  matching(name: string, words: () => readonly string[], found: R[]): void {
    const exact = this.exact.get(name);
    if (exact) found.push(...exact);
    let node: TrieNode<R, number> | undefined = this.prefixes;
    for (let i = 0; node && node.next.size > 0 && i < name.length; i++) {
      node = node.next.get(name.charCodeAt(i));
      if (node && node.held.length > 0) found.push(...node.held);
    }
    if (this.byPiece.length > 0) {
      for (const id of this.automaton.found(name)) {
        for (const candidate of this.byPiece[id]!) if (matchGlob(name, candidate.glob)) found.push(candidate.rule);
      }
    }
    if (this.hasWords) {
      const list = words();
      // A word rule can match at several places: each node's rules are taken once.
      const reached = new Set<TrieNode<R>>();
      for (let start = 0; start < list.length; start++) {
        let at: TrieNode<R> | undefined = this.words;
        for (let i = start; at && i < list.length; i++) {
          at = at.next.get(list[i]!);
          if (at && at.held.length > 0 && !reached.has(at)) {
            reached.add(at);
            found.push(...at.held);
          }
        }
      }
    }
  }
}

/** Every caller-name rule, by scope, compiled once per snapshot. */
export class NameIndex<R extends { kind: string; key: string; scope: string }> {
  private readonly scopes = new Map<string, ScopeNames<R>>();
  readonly size: number;

  constructor(rules: readonly R[]) {
    for (const rule of rules) {
      let names = this.scopes.get(rule.scope);
      if (!names) this.scopes.set(rule.scope, (names = new ScopeNames()));
      names.add(rule);
    }
    this.size = rules.length;
  }

  /** The rules of these scopes whose pattern matches the caller name `raw` (not yet normalised). */
  matching(raw: string | undefined, scopes: readonly string[]): R[] {
    const found: R[] = [];
    if (this.size === 0 || raw === undefined || raw === '') return found;
    let name: string | undefined;
    let words: string[] | undefined;
    const wordsOnce = () => (words ??= wordsOf(name!));
    for (const scope of scopes) {
      const names = this.scopes.get(scope);
      if (!names) continue;
      name ??= normalizeName(raw);
      if (name === '') return found;
      names.matching(name, wordsOnce, found);
    }
    return found;
  }
}

function newer(a: ActiveRule, b: ActiveRule): boolean {
  return a.updatedAt !== b.updatedAt ? a.updatedAt > b.updatedAt : a.id > b.id;
}

/**
 * The name rule that decides: the most specific scope with a match; in it an exact name
 * beats any glob or word; then the most literal characters (a glob's characters besides
 * `*`, a word rule's letters and spaces); among equals the newest.
 */
export function pickNameRule(rules: readonly ActiveRule[], scopes: readonly string[]): ActiveRule | undefined {
  for (const scope of scopes) {
    let best: ActiveRule | undefined;
    for (const rule of rules) {
      if (rule.scope !== scope) continue;
      if (!best || outranks(rule, best)) best = rule;
    }
    if (best) return best;
  }
  return undefined;
}

function isExactName(rule: ActiveRule): boolean {
  return rule.kind === 'name' && !rule.key.includes('*');
}

function outranks(a: ActiveRule, b: ActiveRule): boolean {
  const exactA = isExactName(a);
  if (exactA !== isExactName(b)) return exactA;
  const spanA = a.span ?? 0;
  const spanB = b.span ?? 0;
  return spanA !== spanB ? spanA > spanB : newer(a, b);
}
