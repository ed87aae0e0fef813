/**
 * Glob matching for push rules (appendices.md § Glob-style matching: `*` matches zero or more
 * characters, `?` exactly one; client-server-api/modules/push.md § Conditions › event_match).
 *
 * Matching runs as a set-of-states automaton over code points rather than through a RegExp, so a
 * user's pattern (`*a*a*a*b`, say) cannot cause catastrophic backtracking: cost is O(value × pattern).
 * Case-insensitivity is "defined by the implementation": we compare code points after a simple
 * per-code-point fold (lower then upper case), which equates e.g. `ſ` and `s`, `ẞ` and `ß`.
 */

/** `*` (any run), `?` (one code point), or one folded literal code point. */
type Token = { readonly kind: 'star' } | { readonly kind: 'one' } | { readonly kind: 'literal'; readonly folded: string };

export type GlobMode =
  /** The pattern must match the whole value. */
  | 'whole'
  /** The pattern must match a substring that starts and ends at a word boundary (`content.body`). */
  | 'words';

const STAR: Token = { kind: 'star' };
const ONE: Token = { kind: 'one' };

const fold = (codePoint: string): string => codePoint.toLowerCase().toUpperCase();

/** Spec: a word boundary is the start or end of the value, or any character not in `[A-Za-z0-9_]`. */
const isWordChar = (codePoint: string | undefined): boolean => codePoint !== undefined && /^[A-Za-z0-9_]$/.test(codePoint);

const tokenize = (pattern: string, glob: boolean): Token[] => {
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
  return tokens;
};

/** Adds `state` and, across stars (which may match nothing), the states after them. */
const enter = (active: Uint8Array, tokens: readonly Token[], state: number): void => {
  let at = state;
  while (active[at] === 0) {
    active[at] = 1;
    if (tokens[at] !== STAR) return;
    at += 1;
  }
};

const run = (tokens: readonly Token[], value: string, mode: GlobMode): boolean => {
  const chars = Array.from(value);
  const folded = chars.map(fold);
  const accept = tokens.length;
  // Lenient boundaries (as Synapse reads the spec): a match may start at position p unless both the
  // code point before p and the one at p are word characters; likewise for where it ends.
  const boundaryAt = (p: number): boolean => !(isWordChar(chars[p - 1]) && isWordChar(chars[p]));
  // Position 0 is always a boundary (the start of the value), so every mode starts there.
  let active = new Uint8Array(accept + 1);
  enter(active, tokens, 0);
  for (let p = 0; ; p += 1) {
    if (mode === 'words' && p > 0 && boundaryAt(p)) enter(active, tokens, 0);
    if (active[accept] === 1 && (mode === 'whole' ? p === chars.length : boundaryAt(p))) return true;
    if (p === chars.length) return false;
    const next = new Uint8Array(accept + 1);
    let any = false;
    for (let state = 0; state < accept; state += 1) {
      if (active[state] === 0) continue;
      const token = tokens[state]!;
      if (token.kind === 'star') {
        enter(next, tokens, state);
        any = true;
      } else if (token.kind === 'one' || token.folded === folded[p]) {
        enter(next, tokens, state + 1);
        any = true;
      }
    }
    // In whole mode no state can be re-entered later, so an empty set is final.
    if (!any && mode === 'whole') return false;
    active = next;
  }
};

/** Whether `value` matches the glob `pattern`, case-insensitively, in the given mode. */
export const globMatches = (pattern: string, value: string, mode: GlobMode): boolean =>
  run(tokenize(pattern, true), value, mode);

/**
 * Whether `literal` occurs in `value` case-insensitively between word boundaries, with no glob
 * characters: how `contains_display_name` looks for a display name in `content.body`.
 */
export const containsWords = (literal: string, value: string): boolean =>
  run(tokenize(literal, false), value, 'words');
