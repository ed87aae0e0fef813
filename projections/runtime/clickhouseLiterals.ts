/**
 * SQL literal builders for ClickHouse. Debian's ClickHouse 18.16 has no server-side query parameters
 * ({name:Type} arrived in 19.x), so values are spliced into SQL text — only ever through these.
 * The escaping is the one both 18.16 and current servers read in quoted strings and identifiers.
 */

const STRING_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0', '\b': '\\b', '\f': '\\f',
};

/** 'text' with backslash escapes; any other Unicode goes through as UTF-8. */
export const chString = (value: string): string =>
  `'${value.replace(/[\\'\n\r\t\0\b\f]/g, (c) => STRING_ESCAPES[c]!)}'`;

/** A finite number or bigint, as ClickHouse reads it (no NaN/Infinity, which would be identifiers). */
export const chNumber = (value: number | bigint): string => {
  if (typeof value === 'bigint') return value.toString();
  if (!Number.isFinite(value)) throw new RangeError(`chNumber: ${value} is not a finite number`);
  return Object.is(value, -0) ? '0' : String(value);
};

const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A database, table or column name; anything but a plain name is back-quoted with escapes. */
export const chIdentifier = (name: string): string => {
  if (name.length === 0) throw new RangeError('chIdentifier: empty identifier');
  if (PLAIN_IDENTIFIER.test(name)) return name;
  return `\`${name.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
};

const pad = (n: number): string => String(n).padStart(2, '0');

/**
 * 'YYYY-MM-DD hh:mm:ss' in UTC: the text a DateTime column reads (also in JSONEachRow rows).
 * 18.16 has no DateTime64, so milliseconds are truncated.
 */
export const formatDateTimeUtc = (at: Date | number): string => {
  const date = typeof at === 'number' ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) throw new RangeError('formatDateTimeUtc: invalid date');
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} `
    + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
};

/** A DateTime literal read as UTC whatever the server's time zone. */
export const chDateTime = (at: Date | number): string => `toDateTime(${chString(formatDateTimeUtc(at))}, 'UTC')`;
