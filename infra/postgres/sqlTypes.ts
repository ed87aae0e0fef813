/**
 * Result-type conventions shared by the pg and PGlite adapters, so a read model sees the same
 * JavaScript values on both. PostgreSQL's int8 (bigint, and count(*)) becomes a number: every integer
 * Matrix carries fits, because canonical JSON bounds integers to ±(2^53 - 1). A value past that range
 * comes back as a bigint rather than silently losing precision.
 */
import { MatrixError } from '../../domain/index.ts';

export const INT8_OID = 20;
export const INT8_ARRAY_OID = 1016;

export const parseInt8 = (text: string): number | bigint => {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : BigInt(text);
};

/** pg reports null for commands without a count; PGlite omits it. Both fall back to the rows returned. */
export const rowCountOf = (reported: number | null | undefined, rows: readonly unknown[]): number =>
  reported ?? rows.length;

/** Removes the password from a connection URL so errors can name where they tried to connect. */
export const describeUrl = (url: string): string => {
  try {
    const parsed = new URL(url);
    const database = parsed.pathname.replace(/^\//, '');
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${database ? `/${database}` : ''}`;
  } catch {
    return '(unparseable PostgreSQL URL)';
  }
};

/**
 * PostgreSQL cannot store U+0000: not in `text`, nor inside a `jsonb` string ("unsupported Unicode
 * escape sequence", SQLSTATE 22P05; raw bytes: 22021). Such a value is the client's doing — a NUL in
 * account data, a filter, a profile — so it is answered as bad input instead of a server error.
 * (Room events keep theirs: the rooms projection stores those exactly, see projections/rooms.)
 */
const UNSTORABLE_TEXT = new Set(['22P05', '22021']);

export const unstorableTextError = (error: unknown): unknown => {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && UNSTORABLE_TEXT.has(code)
    ? new MatrixError('M_BAD_JSON', 400, 'Strings containing U+0000 cannot be stored')
    : error;
};
