// The one JSON shape check (request bodies, events): iterative, so no nesting overflows it, and
// each rule refuses what it names and nothing else.
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

describe('fitsBytes', () => {
  it('measures UTF-8 bytes', () => {
    expect(fitsBytes('x'.repeat(255), 255)).toBe(true);
    expect(fitsBytes('€'.repeat(85), 255)).toBe(true);
    expect(fitsBytes('€'.repeat(86), 255)).toBe(false);
    expect(fitsBytes('x'.repeat(256), 255)).toBe(false);
  });
});
