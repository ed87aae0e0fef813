import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, CanonicalJsonError, compareCodePoints, isStrictCanonicalJson, parseJson } from './canonicalJson.ts';
import type { JsonValue } from './json.ts';

const strict = { strict: true };
const tolerant = { strict: false };

/** JSON values that have a strict canonical form: safe integers, well-formed strings of any plane. */
const { value: canonicalValue } = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.string({ unit: 'binary' }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('value'), { maxKeys: 6 }),
  ),
}));

/** The same value with every object's keys inserted in another order. */
const reordered = (value: JsonValue, seed: number): JsonValue => {
  if (Array.isArray(value)) return value.map((item) => reordered(item, seed));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const rotated = entries.slice(seed % Math.max(entries.length, 1)).concat(entries.slice(0, seed % Math.max(entries.length, 1))).reverse();
  return Object.fromEntries(rotated.map(([key, item]) => [key, reordered(item, seed)]));
};

describe('canonicalJson', () => {
  it('sorts keys by code point, not UTF-16 code unit', () => {
    // U+10000 is a surrogate pair (0xD800…) which sorts before U+FFFF by code unit.
    expect(canonicalJson({ '\u{10000}': 1, '\uffff': 2, a: 3 }, strict)).toBe('{"a":3,"\uffff":2,"\u{10000}":1}');
    expect(compareCodePoints('\ue000', '\u{1f408}')).toBeLessThan(0);
    expect(compareCodePoints('ab', 'a')).toBeGreaterThan(0);
  });

  it('escapes only what the grammar escapes', () => {
    expect(canonicalJson(['\u0000\u0008\u0009\u000a\u000b\u000c\u000d\u001f"\\/\u007f\u2028é'], strict)).toBe(
      '["\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\\"\\\\/\u007f\u2028é"]',
    );
  });

  it('writes -0 as 0 and refuses floats and out-of-range integers in strict mode', () => {
    expect(canonicalJson({ a: -0 }, strict)).toBe('{"a":0}');
    expect(() => canonicalJson({ a: { b: [1.5] } }, strict)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ a: 2 ** 53 }, strict)).toThrow(/outside/);
    expect(() => canonicalJson({ a: { b: [1.5] } }, strict)).toThrow(expect.objectContaining({ path: '$.a.b[0]' }));
    expect(isStrictCanonicalJson({ a: Number.MAX_SAFE_INTEGER, b: -Number.MAX_SAFE_INTEGER })).toBe(true);
    expect(isStrictCanonicalJson({ a: 1.1 })).toBe(false);
  });

  it('still writes room v1–v5 numbers without exponents when tolerant', () => {
    expect(canonicalJson({ a: 1e21, b: 2 ** 53, c: 1.5 }, tolerant)).toBe('{"a":1000000000000000000000,"b":9007199254740992,"c":1.5}');
  });

  it('refuses what has no JSON or UTF-8 form in any mode', () => {
    expect(() => canonicalJson(['\ud800'], tolerant)).toThrow(/surrogate/);
    expect(() => canonicalJson({ ['\udc00']: 1 }, tolerant)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson([Number.NaN], tolerant)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson([new Date(0) as unknown as JsonValue], tolerant)).toThrow(CanonicalJsonError);
  });

  it('is stable under re-encoding: parse then encode is the identity on canonical output', () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        const text = canonicalJson(value, strict);
        const parsed = parseJson(text, strict);
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(canonicalJson(parsed.value, strict)).toBe(text);
        expect(canonicalJson(JSON.parse(JSON.stringify(value, null, 2)) as JsonValue, strict)).toBe(text);
      }),
    );
  });

  it('does not depend on key order', () => {
    fc.assert(
      fc.property(canonicalValue, fc.nat(10), (value, seed) => {
        expect(canonicalJson(reordered(value, seed), strict)).toBe(canonicalJson(value, strict));
      }),
    );
  });
});

describe('canonicalJson fast paths', () => {
  /** Strings of code units below U+D800 only: no surrogates, nothing from U+E000 up. */
  const lowString = fc.string({ unit: fc.integer({ min: 0, max: 0xd7ff }).map((unit) => String.fromCharCode(unit)), maxLength: 6 });

  it('plain sort agrees with code-point order when no key has a code unit from U+D800 up', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(lowString, fc.string({ maxLength: 4 })), { maxLength: 12 }), (keys) => {
        expect([...keys].sort()).toEqual([...keys].sort(compareCodePoints));
      }),
    );
  });

  it('orders keys of any plane by code point', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(lowString, fc.string({ unit: 'binary', maxLength: 4 })), fc.maxSafeInteger(), { maxKeys: 8 }), (object) => {
        const keys = Object.keys(object).sort(compareCodePoints);
        const expected = `{${keys.map((key) => `${JSON.stringify(key)}:${object[key]}`).join(',')}}`;
        expect(canonicalJson(object, strict)).toBe(expected);
      }),
    );
  });

  it('writes every BMP code unit as JSON.stringify does, and refuses lone surrogates', () => {
    for (let unit = 0; unit <= 0xffff; unit++) {
      const text = `a${String.fromCharCode(unit)}b`;
      if (text.isWellFormed()) expect(canonicalJson([text], strict)).toBe(`[${JSON.stringify(text)}]`);
      else expect(() => canonicalJson([text], tolerant)).toThrow('string with a lone surrogate at $[0]');
    }
    expect(canonicalJson(['\u{1f408}"'], strict)).toBe('["\u{1f408}\\""]');
  });

  it('reports the first problem in key order with its path', () => {
    const cases: [JsonValue, boolean, string][] = [
      [{ b: { c: [0, 'ok', Number.NaN] } }, false, 'non-finite number at $.b.c[2]'],
      [{ z: 1.5, a: 2 ** 53 }, true, 'integer outside ±(2^53−1) at $.a'],
      [{ z: 1.5, a: 2 ** 53 }, false, ''],
      [{ x: { '\ud800': 1, a: [new Map() as unknown as JsonValue] } }, true, 'not a plain JSON object at $.x.a[0]'],
      [{ x: { '\ud800': 1 } }, true, 'string with a lone surrogate at $.x'],
      [[{ '\u{10000}': 1.5, '\uffff': 2 }], true, 'float at $[0].\u{10000}'],
      [[[undefined as unknown as JsonValue]], false, 'undefined is not JSON at $[0][0]'],
    ];
    for (const [value, isStrict, message] of cases) {
      if (message === '') {
        expect(canonicalJson(value, { strict: isStrict })).toBe('{"a":9007199254740992,"z":1.5}');
        continue;
      }
      expect(() => canonicalJson(value, { strict: isStrict })).toThrow(new CanonicalJsonError(message.slice(0, message.lastIndexOf(' at ')), message.slice(message.lastIndexOf(' at ') + 4)));
      try {
        canonicalJson(value, { strict: isStrict });
      } catch (error) {
        expect(error).toBeInstanceOf(CanonicalJsonError);
        expect((error as CanonicalJsonError).message).toBe(message);
        expect((error as CanonicalJsonError).path).toBe(message.slice(message.lastIndexOf(' at ') + 4));
      }
    }
  });
});

describe('parseJson', () => {
  it('refuses fraction and exponent forms in strict mode by their source text', () => {
    expect(parseJson('{"a":1.0}', strict)).toEqual({ ok: false, error: 'number 1.0 is not an integer' });
    expect(parseJson('{"a":1e5}', strict).ok).toBe(false);
    expect(parseJson('[9007199254740992]', strict).ok).toBe(false);
    expect(parseJson('{"a":-0}', strict)).toEqual({ ok: true, value: { a: 0 } });
    expect(parseJson('{"a":1.0}', tolerant)).toEqual({ ok: true, value: { a: 1 } });
  });

  it('reports syntax errors instead of throwing', () => {
    const result = parseJson('{"a":', tolerant);
    expect(result.ok).toBe(false);
  });
});
