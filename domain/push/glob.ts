/**
 * Glob matching for push rules (appendices.md § Glob-style matching: `*` matches zero or more
 * characters, `?` exactly one; client-server-api/modules/push.md § Conditions › event_match).
 *
 * Matching runs as a set-of-states automaton over code points rather than through a RegExp, so a
 * user's pattern (`*a*a*a*b`, say) cannot cause catastrophic backtracking: cost is O(value × pattern).
 * Case-insensitivity is "defined by the implementation": we compare code points after a simple
 * per-code-point fold (lower then upper case), which equates e.g. `ſ` and `s`, `ẞ` and `ß`.
 *
 * Patterns are compiled once (a bounded cache: rules evaluate the same few patterns against every
 * event), and values are folded code point by code point as the automaton reads them.
 */
import { BoundedMap } from '../boundedMap.ts';

/** `*` (any run), `?` (one code point), or one folded literal code point. */
type Token = { readonly kind: 'star' } | { readonly kind: 'one' } | { readonly kind: 'literal'; readonly folded: string };

export type GlobMode =
  /** The pattern must match the whole value. */
  | 'whole'
  /** The pattern must match a substring that starts and ends at a word boundary (`content.body`). */
  | 'words';

/** A pattern read once: its tokens, and whether it is all literals (matched in lockstep when whole). */
export interface CompiledGlob {
  readonly tokens: readonly Token[];
  readonly literal: boolean;
}

const STAR: Token = { kind: 'star' };
const ONE: Token = { kind: 'one' };

const fold = (codePoint: string): string => codePoint.toLowerCase().toUpperCase();

/** Folds of the ASCII code points, the common case, without a string conversion per character. */
const ASCII_FOLDS: readonly string[] = Array.from({ length: 128 }, (_, code) => fold(String.fromCharCode(code)));

const foldAt = (codePoint: number): string => (codePoint < 128 ? ASCII_FOLDS[codePoint]! : fold(String.fromCodePoint(codePoint)));

/** Spec: a word boundary is the start or end of the value, or any character not in `[A-Za-z0-9_]`. */
const isWordCode = (codePoint: number): boolean =>
  (codePoint >= 48 && codePoint <= 57) || (codePoint >= 65 && codePoint <= 90) || (codePoint >= 97 && codePoint <= 122) || codePoint === 95;

const tokenize = (pattern: string, glob: boolean): CompiledGlob => {
  const tokens: Token[] = [];
  for (const codePoint of pattern) {
    if (glob && codePoint === '*') {
      // Consecutive stars are one star; fewer tokens, same language.
      if (tokens.at(-1) !== STAR) tokens.push(STAR);
    } else if (glob && codePoint === '?') {
      tokens.push(ONE);
    } else {
      tokens.push({ kind: 'literal', folded: fold(codePoint) });
    }
  }
  return { tokens, literal: tokens.every((token) => token.kind === 'literal') };
};

/** Compiled patterns by `g|pattern` (glob) or `l|literal`, least recently used dropped first. */
export const MAX_COMPILED_GLOBS = 4_096;
const compiled = new BoundedMap<string, CompiledGlob>(MAX_COMPILED_GLOBS);

/** The compiled form of a pattern (or, with `glob` false, of a literal), cached. */
export const compileGlob = (pattern: string, glob = true): CompiledGlob => {
  const key = `${glob ? 'g' : 'l'}|${pattern}`;
  let found = compiled.touch(key);
  if (found === undefined) compiled.set(key, (found = tokenize(pattern, glob)));
  return found;
};

/** How many compiled patterns are cached (for tests of the bound). */
export const compiledGlobCount = (): number => compiled.size;

/** Adds `state` and, across stars (which may match nothing), the states after them. */
const enter = (active: Uint8Array, tokens: readonly Token[], state: number): void => {
  let at = state;
  while (active[at] === 0) {
    active[at] = 1;
    if (tokens[at] !== STAR) return;
    at += 1;
  }
};

/** A literal pattern against the whole value: code point by code point, stopping at the first difference. */
const literalWhole = (tokens: readonly Token[], value: string): boolean => {
  let t = 0;
  for (let i = 0; i < value.length; t += 1) {
    const codePoint = value.codePointAt(i)!;
    i += codePoint > 0xffff ? 2 : 1;
    const token = tokens[t];
    if (token === undefined || (token as { folded: string }).folded !== foldAt(codePoint)) return false;
  }
  return t === tokens.length;
};

const run = ({ tokens, literal }: CompiledGlob, value: string, mode: GlobMode): boolean => {
  if (literal && mode === 'whole') return literalWhole(tokens, value);
  const accept = tokens.length;
  // Lenient boundaries (as Synapse reads the spec): a match may start at position p unless both the
  // code point before p and the one at p are word characters; likewise for where it ends.
  let before = -1; // the code point before the position, -1 at the start
  let i = 0; // UTF-16 index of the code point at the position
  let active = new Uint8Array(accept + 1);
  let next = new Uint8Array(accept + 1);
  // Position 0 is always a boundary (the start of the value), so every mode starts there.
  enter(active, tokens, 0);
  for (let p = 0; ; p += 1) {
    const atEnd = i >= value.length;
    const codePoint = atEnd ? -1 : value.codePointAt(i)!;
    const boundary = !(before !== -1 && isWordCode(before) && codePoint !== -1 && isWordCode(codePoint));
    if (mode === 'words' && p > 0 && boundary) enter(active, tokens, 0);
    if (active[accept] === 1 && (mode === 'whole' ? atEnd : boundary)) return true;
    if (atEnd) return false;
    const folded = foldAt(codePoint);
    next.fill(0);
    let any = false;
    for (let state = 0; state < accept; state += 1) {
      if (active[state] === 0) continue;
      const token = tokens[state]!;
      if (token.kind === 'star') {
        enter(next, tokens, state);
        any = true;
      } else if (token.kind === 'one' || token.folded === folded) {
        enter(next, tokens, state + 1);
        any = true;
      }
    }
    // In whole mode no state can be re-entered later, so an empty set is final.
    if (!any && mode === 'whole') return false;
    [active, next] = [next, active];
    before = codePoint;
    i += codePoint > 0xffff ? 2 : 1;
  }
};

/** Whether `value` matches a compiled glob, case-insensitively, in the given mode. */
export const compiledGlobMatches = (glob: CompiledGlob, value: string, mode: GlobMode): boolean => run(glob, value, mode);

/** Whether `value` matches the glob `pattern`, case-insensitively, in the given mode. */
export const globMatches = (pattern: string, value: string, mode: GlobMode): boolean =>
  run(compileGlob(pattern, true), value, mode);

/**
 * Whether `literal` occurs in `value` case-insensitively between word boundaries, with no glob
 * characters: how `contains_display_name` looks for a display name in `content.body`.
 */
export const containsWords = (literal: string, value: string): boolean =>
  run(compileGlob(literal, false), value, 'words');
