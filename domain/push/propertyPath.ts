/**
 * Dot-separated property paths (appendices.md § Dot-separated property paths): `content.body` is
 * `body` inside `content`; a literal dot or backslash in a name is escaped with a backslash
 * (`content.m\.relates_to`, `content.m\\foo`); any other escape is kept as-is (`\x` is a backslash
 * then `x`).
 */
import { isJsonObject, type JsonValue } from '../json.ts';

/** Splits a dotted key into property names, undoing `\.` and `\\`. */
export const parsePropertyPath = (key: string): string[] => {
  const names: string[] = [];
  let current = '';
  for (let i = 0; i < key.length; i += 1) {
    const char = key[i]!;
    const next = key[i + 1];
    if (char === '\\' && (next === '.' || next === '\\')) {
      current += next;
      i += 1;
    } else if (char === '.') {
      names.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  names.push(current);
  return names;
};

/**
 * The value at a dotted path in an event, or undefined when the path leaves the JSON objects (an
 * absent name, or a step into a non-object). Only own properties count, so `constructor` or
 * `__proto__` never reach into JavaScript's prototypes.
 */
export const propertyAt = (event: JsonValue, key: string): JsonValue | undefined => propertyAtPath(event, parsePropertyPath(key));

/** As propertyAt, with the key split already (parsePropertyPath), for rules compiled once. */
export const propertyAtPath = (event: JsonValue, names: readonly string[]): JsonValue | undefined => {
  let value: JsonValue | undefined = event;
  for (const name of names) {
    if (!isJsonObject(value) || !Object.hasOwn(value, name)) return undefined;
    value = value[name];
  }
  return value;
};
