import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compiledGlobCount, compileGlob, containsWords, globMatches, MAX_COMPILED_GLOBS } from './glob.ts';

describe('glob matching, whole value (event_match on keys other than content.body)', () => {
  // The spec's example for `content.topic` with the pattern `lunc?*`.
  it.each([
    ['Lunch plans', true],
    ['LUNCH', true], // case-insensitive; `*` may match zero characters
    [' lunch', false], // leading space
    ['lunc', false], // `?` must match a character
  ])('lunc?* against %j is %s', (value, expected) => {
    expect(globMatches('lunc?*', value, 'whole')).toBe(expected);
  });

  it('matches the entire value, not a part of it', () => {
    expect(globMatches('m.notice', 'm.notice', 'whole')).toBe(true);
    expect(globMatches('m.notice', 'xm.notice', 'whole')).toBe(false);
    expect(globMatches('m.notice', 'm.notices', 'whole')).toBe(false);
    expect(globMatches('m.*', 'm.room.message', 'whole')).toBe(true);
  });

  it('treats every other character literally (dots, brackets, regex syntax)', () => {
    expect(globMatches('m.room', 'mxroom', 'whole')).toBe(false);
    expect(globMatches('[ab]', 'a', 'whole')).toBe(false);
    expect(globMatches('[ab]', '[AB]', 'whole')).toBe(true);
    expect(globMatches('a+b(c)$', 'a+b(c)$', 'whole')).toBe(true);
    expect(globMatches('.*', 'anything', 'whole')).toBe(false);
  });

  it('matches the empty pattern only against the empty value, and `*` against anything', () => {
    expect(globMatches('', '', 'whole')).toBe(true);
    expect(globMatches('', 'x', 'whole')).toBe(false);
    expect(globMatches('*', '', 'whole')).toBe(true);
    expect(globMatches('**', 'line one\nline two', 'whole')).toBe(true);
  });

  it('lets `?` match one code point, including newlines and astral characters', () => {
    expect(globMatches('a?b', 'a\nb', 'whole')).toBe(true);
    expect(globMatches('a?b', 'a🎉b', 'whole')).toBe(true);
    expect(globMatches('a??b', 'a🎉b', 'whole')).toBe(false);
  });

  it('folds case beyond ASCII', () => {
    expect(globMatches('école', 'ÉCOLE', 'whole')).toBe(true);
    expect(globMatches('straße', 'STRAẞE', 'whole')).toBe(true);
    expect(globMatches('ΣΟΦΙΑ', 'σοφια', 'whole')).toBe(true);
  });

  it('stays fast on patterns that make backtracking regexes explode', () => {
    const started = performance.now();
    expect(globMatches('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5_000), 'whole')).toBe(false);
    expect(globMatches('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5_000), 'words')).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('glob matching at word boundaries (content.body)', () => {
  // The spec's example for `content.body` with the pattern `ex*ple`.
  it.each([
    ['An example event.', true],
    ['exple', true], // the pattern can match at the start and end of the body
    ['An exciting triple-whammy', true], // spans words; `-` separates words
    ['An examples event', false],
    ['complex ample', false],
  ])('ex*ple against %j is %s', (value, expected) => {
    expect(globMatches('ex*ple', value, 'words')).toBe(expected);
  });

  it.each([
    ['cake', true],
    ['I like cake.', true],
    ['CAKE!', true],
    ['cake-shop', true],
    ['pancake', false],
    ['cakes', false],
    ['cake_shop', false], // `_` is a word character
    ['cake9', false],
    ['café cake', true],
  ])('cake against %j is %s', (value, expected) => {
    expect(globMatches('cake', value, 'words')).toBe(expected);
  });

  it('lets `?` and `*` stand for word characters inside a word', () => {
    expect(globMatches('c?ke', 'a coke please', 'words')).toBe(true);
    expect(globMatches('c?ke', 'a cke please', 'words')).toBe(false);
    expect(globMatches('ca*', 'a cat', 'words')).toBe(true);
  });

  it('accepts a match whose own first or last character is the boundary', () => {
    expect(globMatches('-foo', 'a-foo', 'words')).toBe(true);
    expect(globMatches('foo-', 'foo-bar', 'words')).toBe(true);
    expect(globMatches('foo-', 'xfoo-bar', 'words')).toBe(false);
  });
});

describe('containsWords (contains_display_name)', () => {
  it('finds the name as whole words, case-insensitively, with no glob characters', () => {
    expect(containsWords('Alice', 'hey alice, lunch?')).toBe(true);
    expect(containsWords('Alice', 'malice aforethought')).toBe(false);
    expect(containsWords('Al*', 'Alfred')).toBe(false);
    expect(containsWords('Al*', 'hi Al*!')).toBe(true);
    expect(containsWords('Dr. Who', 'ask dr. who')).toBe(true);
  });
});

/** A regex oracle over a small ASCII alphabet, where the regex engine's semantics are not in doubt. */
const oracle = (pattern: string, value: string, mode: 'whole' | 'words'): boolean => {
  const source = [...pattern].map((c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : c)).join('');
  const whole = new RegExp(`^${source}$`, 'i');
  if (mode === 'whole') return whole.test(value);
  const word = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);
  const boundary = (p: number) => !(word(value[p - 1]) && word(value[p]));
  for (let i = 0; i <= value.length; i += 1) {
    for (let j = i; j <= value.length; j += 1) {
      if (boundary(i) && boundary(j) && whole.test(value.slice(i, j))) return true;
    }
  }
  return false;
};

describe('glob matching agrees with a regex oracle', () => {
  const value = fc.string({ unit: fc.constantFrom('a', 'B', 'b', '_', '-', ' ', '1'), maxLength: 12 });
  const pattern = fc.string({ unit: fc.constantFrom('a', 'A', 'b', '_', '-', ' ', '*', '?'), maxLength: 6 });
  it.each(['whole', 'words'] as const)('in %s mode', (mode) => {
    fc.assert(fc.property(pattern, value, (p, v) => globMatches(p, v, mode) === oracle(p, v, mode)), { numRuns: 2_000 });
  });
});

describe('compiled pattern cache', () => {
  it('stays within its bound, least recently used first out, and answers the same after eviction', () => {
    const hot = compileGlob('hot*pattern');
    const cold = compileGlob('cold*pattern');
    for (let i = 0; i < MAX_COMPILED_GLOBS + 100; i += 1) {
      expect(globMatches(`p${i}*`, `p${i}x`, 'whole')).toBe(true);
      // Used throughout, the hot pattern is never the least recently used one.
      if (i % 1_000 === 0) expect(globMatches('hot*pattern', 'hot new pattern', 'whole')).toBe(true);
    }
    expect(compiledGlobCount()).toBe(MAX_COMPILED_GLOBS);
    expect(compileGlob('hot*pattern')).toBe(hot);
    expect(compileGlob('cold*pattern')).not.toBe(cold);
    expect(compileGlob('cold*pattern')).toEqual(cold);
    expect(globMatches('p0*', 'p0', 'whole')).toBe(true);
    expect(containsWords('p0*', 'a p0* b')).toBe(true);
  });
});
