// The one JSON shape check (request bodies, events): iterative, so no nesting overflows it, and
// each rule refuses what it names and nothing else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS, REQUEST_JSON_CHECKS, fitsBytes, jsonShapeProblem } from './limits.ts';
import type { JsonValue } from './json.ts';

const nestedArrays = (levels: number): JsonValue => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`) as JsonValue;
const nestedObjects = (levels: number): JsonValue => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`) as JsonValue;

describe('jsonShapeProblem', () => {
  it('admits nesting up to the limit and refuses one level more, for arrays and objects', () => {
    for (const nested of [nestedArrays, nestedObjects]) {
      expect(jsonShapeProblem(nested(LIMITS.jsonDepth), REQUEST_JSON_CHECKS)).toBeUndefined();
      expect(jsonShapeProblem(nested(LIMITS.jsonDepth + 1), REQUEST_JSON_CHECKS)?.reason).toMatch(/deeper than 128/);
    }
  });

  it('walks a million levels without overflowing the stack', () => {
    expect(jsonShapeProblem(nestedArrays(1_000_000), { maxDepth: 2_000_000 })).toBeUndefined();
    expect(jsonShapeProblem(nestedArrays(1_000_000), REQUEST_JSON_CHECKS)).toBeDefined();
  });

  it('refuses lone surrogates in values and member names, and admits pairs', () => {
    expect(jsonShapeProblem({ a: ['\ud800'] }, REQUEST_JSON_CHECKS)?.reason).toMatch(/lone surrogate/);
    expect(jsonShapeProblem({ '\udc00': 1 }, REQUEST_JSON_CHECKS)?.reason).toMatch(/lone surrogate/);
    expect(jsonShapeProblem({ '😀': '\u{10ffff}\u0000' }, REQUEST_JSON_CHECKS)).toBeUndefined();
    expect(jsonShapeProblem({ a: '\ud800' }, { maxDepth: 10 })).toBeUndefined();
  });

  it('refuses non-finite numbers only when asked, and admits floats and large integers', () => {
    expect(jsonShapeProblem(JSON.parse('{"a":[1e400]}') as JsonValue, REQUEST_JSON_CHECKS)?.reason).toMatch(/out of range/);
    expect(jsonShapeProblem(JSON.parse('{"a":-1e400}') as JsonValue, REQUEST_JSON_CHECKS)).toBeDefined();
    expect(jsonShapeProblem({ a: 1.5, b: 2 ** 60 }, REQUEST_JSON_CHECKS)).toBeUndefined();
    expect(jsonShapeProblem({ a: Infinity }, { maxDepth: 10 })).toBeUndefined();
  });

  it('bounds member names in UTF-8 bytes', () => {
    expect(jsonShapeProblem({ ['é'.repeat(127) + 'x']: 1 }, REQUEST_JSON_CHECKS)).toBeUndefined();
    expect(jsonShapeProblem({ ['é'.repeat(128)]: 1 }, REQUEST_JSON_CHECKS)?.reason).toMatch(/member name/);
    expect(jsonShapeProblem([{ b: { ['x'.repeat(256)]: 1 } }], REQUEST_JSON_CHECKS)).toBeDefined();
  });
});

/** The same rules, recursively: the obvious reading the iterative walk must agree with. */
const reference = (value: unknown, maxDepth: number, depth = 1): boolean => {
  if (typeof value === 'string') return value.isWellFormed();
  if (typeof value === 'number') return Number.isFinite(value);
  if (value === null || typeof value !== 'object') return true;
  if (depth > maxDepth) return false;
  const entries = Array.isArray(value) ? value.map((item) => ['', item] as const) : Object.entries(value);
  return entries.every(([key, item]) => key.isWellFormed() && new TextEncoder().encode(key).length <= 255 && reference(item, maxDepth, depth + 1));
};

describe('jsonShapeProblem against a recursive reference', () => {
  it('agrees on arbitrary JSON, lone surrogates and odd numbers included', () => {
    // fast-check's strings hold no lone surrogates, so some are mixed in, and a key just too long.
    const odd = fc.constantFrom('\ud800', 'a\udfffb', '😀', '\u0000', 'é'.repeat(127), 'é'.repeat(128));
    const text = fc.oneof(fc.string({ maxLength: 4 }), odd);
    const leaf = fc.oneof(text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null));
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'large', maxDepth: 8 }, leaf, fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(text, tie('value'), { maxKeys: 3 })),
    }));
    fc.assert(fc.property(value, fc.integer({ min: 1, max: 6 }), (json, maxDepth) => {
      const checks = { ...REQUEST_JSON_CHECKS, maxDepth };
      expect(jsonShapeProblem(json as JsonValue, checks) === undefined).toBe(reference(json, maxDepth));
    }), { numRuns: 500 });
  });
});

describe('fitsBytes', () => {
  it('measures UTF-8 bytes', () => {
    expect(fitsBytes('x'.repeat(255), 255)).toBe(true);
    expect(fitsBytes('€'.repeat(85), 255)).toBe(true);
    expect(fitsBytes('€'.repeat(86), 255)).toBe(false);
    expect(fitsBytes('x'.repeat(256), 255)).toBe(false);
  });
});
