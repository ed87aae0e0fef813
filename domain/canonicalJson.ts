/**
 * Canonical JSON (appendices.md § Canonical JSON): the shortest UTF-8 encoding, object keys sorted
 * by Unicode code point, integers only, no insignificant whitespace. Signatures, content hashes and
 * reference hashes (and so event ids and v12 room ids) are all computed over these bytes.
 */
import type { JsonValue } from './json.ts';

/** Why a value has no canonical encoding (strict mode: room v6+ and every new signature). */
export class CanonicalJsonError extends Error {
  /** JSON path of the offending value, e.g. `$.content.body`. */
  readonly path: string;

  constructor(message: string, path: string) {
    super(`${message} at ${path}`);
    this.name = 'CanonicalJsonError';
    this.path = path;
  }
}

export interface CanonicalJsonOptions {
  /**
   * Since v6 (rooms/fragments/v6-canonical-json.md): numbers must be integers in
   * [-(2^53)+1, 2^53-1]; anything else is an error. Without it (room v1–v5 history) floats and
   * large integers are tolerated and encoded as plainly as possible.
   */
  readonly strict: boolean;
}

export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

/**
 * Compares two strings by Unicode code point. JavaScript's `<` compares UTF-16 code units, which
 * puts U+10000 and above (surrogate pairs, 0xD800–0xDFFF) before U+E000–U+FFFF; shifting the code
 * units at the first difference restores code-point order for well-formed strings.
 */
export const compareCodePoints = (a: string, b: string): number => {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
};

const codePointRank = (unit: number): number => (unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit);

const isPlainObject = (value: object): value is Record<string, unknown> => {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

// The error path: the value is walked again with its JSON path, only once the fast encoder below
// has found that it has no canonical form, so the happy path builds no path strings.

const encodeNumberAt = (value: number, strict: boolean, path: string): string => {
  if (!Number.isFinite(value)) throw new CanonicalJsonError('non-finite number', path);
  if (Number.isInteger(value)) {
    if (Math.abs(value) <= MAX_SAFE_INTEGER) return String(value === 0 ? 0 : value); // -0 MUST NOT appear
    if (strict) throw new CanonicalJsonError('integer outside ±(2^53−1)', path);
    // No exponent form: 1e21 and beyond are written out digit by digit.
    return BigInt(value).toString();
  }
  if (strict) throw new CanonicalJsonError('float', path);
  return String(value);
};

const encodeStringAt = (value: string, path: string): string => {
  // A lone surrogate has no UTF-8 encoding, so it cannot appear in canonical JSON.
  if (!value.isWellFormed()) throw new CanonicalJsonError('string with a lone surrogate', path);
  // JSON.stringify escapes exactly what the grammar escapes: ", \, \b \t \n \f \r and the other
  // C0 controls as lowercase \u00XX; everything else (including / and U+007F) is written as is.
  return JSON.stringify(value);
};

/** Walks a value that has no canonical form with its JSON path and throws the first problem. */
const locateProblem = (value: unknown, strict: boolean, path: string): void => {
  if (value === null) return;
  switch (typeof value) {
    case 'boolean':
      return;
    case 'number':
      encodeNumberAt(value, strict, path);
      return;
    case 'string':
      encodeStringAt(value, path);
      return;
    case 'object':
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) locateProblem(value[i], strict, `${path}[${i}]`);
        return;
      }
      if (!isPlainObject(value)) throw new CanonicalJsonError('not a plain JSON object', path);
      for (const key of Object.keys(value).filter((k) => value[k] !== undefined).sort(compareCodePoints)) {
        encodeStringAt(key, path);
        locateProblem(value[key], strict, `${path}.${key}`);
      }
      return;
    default:
      throw new CanonicalJsonError(`${typeof value} is not JSON`, path);
  }
};

/** Thrown (one shared instance, no stack capture) by the fast encoder; `canonicalJson` then locates the problem. */
const NOT_CANONICAL = new Error('no canonical form');

const encodeNumber = (value: number, strict: boolean): string => {
  if (Number.isInteger(value)) {
    if (value === 0) return '0'; // -0 MUST NOT appear
    if (value <= MAX_SAFE_INTEGER && value >= -MAX_SAFE_INTEGER) return String(value);
    if (strict) throw NOT_CANONICAL;
    return BigInt(value).toString();
  }
  if (strict || !Number.isFinite(value)) throw NOT_CANONICAL;
  return String(value);
};

/** What JSON.stringify escapes (", \\, C0 controls) and surrogates, which may be lone. */
const NEEDS_CARE = /[\u0000-\u001f"\\\ud800-\udfff]/;

const encodeString = (value: string): string => {
  // Most strings need neither escapes nor a surrogate check: JSON.stringify would only quote them.
  if (!NEEDS_CARE.test(value)) return `"${value}"`;
  if (!value.isWellFormed()) throw NOT_CANONICAL;
  return JSON.stringify(value);
};

/** A code unit from U+D800 up: a surrogate or U+E000–U+FFFF, where code-unit order can differ. */
const HIGH_CODE_UNIT = /[\ud800-\uffff]/;

/**
 * Object keys in code-point order. Array#sort without a comparator orders strings by UTF-16 code
 * unit; that agrees with `compareCodePoints` whenever no key has a code unit ≥ U+D800: both
 * compare the first differing position (or, with none, the lengths, shorter first), and below
 * U+D800 each code unit is a whole code point and `codePointRank` is the identity, so the two
 * comparisons have the same sign for every pair. Only keys with such a unit need the comparator.
 */
const sortedKeys = (value: Record<string, unknown>): string[] => {
  const keys = Object.keys(value);
  let high = false;
  let skipped = false;
  for (const key of keys) {
    if (value[key] === undefined) skipped = true;
    else if (!high && HIGH_CODE_UNIT.test(key)) high = true;
  }
  const present = skipped ? keys.filter((key) => value[key] !== undefined) : keys;
  return high ? present.sort(compareCodePoints) : present.sort();
};

const encode = (value: unknown, strict: boolean): string => {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return encodeNumber(value, strict);
    case 'string':
      return encodeString(value);
    case 'object': {
      if (Array.isArray(value)) {
        if (value.length === 0) return '[]';
        let text = '[' + encode(value[0], strict);
        for (let i = 1; i < value.length; i++) text += ',' + encode(value[i], strict);
        return text + ']';
      }
      if (!isPlainObject(value)) throw NOT_CANONICAL;
      const keys = sortedKeys(value);
      if (keys.length === 0) return '{}';
      let text = '{';
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        text += (i === 0 ? '' : ',') + encodeString(key) + ':' + encode(value[key], strict);
      }
      return text + '}';
    }
    default:
      throw NOT_CANONICAL;
  }
};

/**
 * The canonical JSON text of a value. Throws CanonicalJsonError when the value has no canonical
 * form (strict: floats and out-of-range integers; always: NaN/Infinity, lone surrogates, non-JSON).
 * Object properties whose value is `undefined` are skipped, as JSON.stringify does.
 */
export const canonicalJson = (value: JsonValue, options: CanonicalJsonOptions): string => {
  try {
    return encode(value, options.strict);
  } catch (error) {
    if (error !== NOT_CANONICAL) throw error;
    locateProblem(value, options.strict, '$');
    throw new CanonicalJsonError('no canonical form', '$'); // unreachable: both walks check the same
  }
};

const utf8 = new TextEncoder();

/** The canonical JSON of a value as the UTF-8 bytes that are hashed and signed. */
export const canonicalJsonBytes = (value: JsonValue, options: CanonicalJsonOptions): Uint8Array =>
  utf8.encode(canonicalJson(value, options));

/** Whether a value meets the v6+ rules (every number an integer in ±(2^53−1), valid strings). */
export const isStrictCanonicalJson = (value: JsonValue): boolean => {
  try {
    canonicalJson(value, { strict: true });
    return true;
  } catch (error) {
    if (error instanceof CanonicalJsonError) return false;
    throw error;
  }
};

export type JsonParseResult = { ok: true; value: JsonValue } | { ok: false; error: string };

interface ReviverContext {
  readonly source?: string;
}

/**
 * Parses JSON text. In strict mode (room v6+ events, JSON to be signed) a number written with a
 * fraction or exponent (`1.0`, `1e5`) or outside ±(2^53−1) is refused by its source text, which
 * JSON.parse alone would hide; `-0` is read as 0, as the spec's own encoding example does.
 */
export const parseJson = (text: string, options: CanonicalJsonOptions): JsonParseResult => {
  let problem: string | undefined;
  const reviver = (key: string, value: unknown, context?: ReviverContext): unknown => {
    if (typeof value !== 'number') return value;
    if (options.strict && problem === undefined) {
      const source = context?.source ?? String(value);
      if (!/^-?(0|[1-9][0-9]*)$/.test(source)) problem = `number ${source} is not an integer`;
      else if (!Number.isSafeInteger(value)) problem = `integer ${source} is outside ±(2^53−1)`;
    }
    return value === 0 ? 0 : value;
  };
  try {
    const value = JSON.parse(text, reviver as (key: string, value: unknown) => unknown) as JsonValue;
    return problem === undefined ? { ok: true, value } : { ok: false, error: problem };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : 'invalid JSON' };
  }
};
