/**
 * Reading request bodies. Wrong types answer M_INVALID_PARAM and missing required keys
 * M_MISSING_PARAM (client-server-api § Common error codes), both with status 400.
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';

export const missingParam = (key: string): MatrixError => new MatrixError('M_MISSING_PARAM', 400, `Missing '${key}'`);
export const invalidParam = (key: string, what: string): MatrixError =>
  new MatrixError('M_INVALID_PARAM', 400, `'${key}' must be ${what}`);

export const optionalString = (body: JsonObject, key: string): string | undefined => {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParam(key, 'a string');
  return value;
};

export const requireString = (body: JsonObject, key: string): string => {
  const value = optionalString(body, key);
  if (value === undefined) throw missingParam(key);
  return value;
};

export const optionalBoolean = (body: JsonObject, key: string): boolean | undefined => {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidParam(key, 'a boolean');
  return value;
};

export const optionalObject = (body: JsonObject, key: string): JsonObject | undefined => {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw invalidParam(key, 'an object');
  return value;
};

export const requireStringArray = (body: JsonObject, key: string): string[] => {
  const value = body[key];
  if (value === undefined || value === null) throw missingParam(key);
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw invalidParam(key, 'an array of strings');
  }
  return value as string[];
};
