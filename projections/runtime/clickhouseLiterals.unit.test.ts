import { describe, expect, it } from 'vitest';
import { chDateTime, chIdentifier, chNumber, chString, formatDateTimeUtc } from './clickhouseLiterals.ts';

describe('ClickHouse literals', () => {
  it('escapes quotes, backslashes and control characters in strings', () => {
    expect(chString("it's")).toBe("'it\\'s'");
    expect(chString('a\\b')).toBe("'a\\\\b'");
    expect(chString('line\nnext\r\ttab\0')).toBe("'line\\nnext\\r\\ttab\\0'");
    expect(chString("\\'")).toBe("'\\\\\\''");
    expect(chString('ü 🎉')).toBe("'ü 🎉'");
  });

  it('writes finite numbers and bigints, and refuses NaN and infinities', () => {
    expect(chNumber(42)).toBe('42');
    expect(chNumber(-1.5)).toBe('-1.5');
    expect(chNumber(-0)).toBe('0');
    expect(chNumber(18446744073709551615n)).toBe('18446744073709551615');
    expect(() => chNumber(Number.NaN)).toThrow(RangeError);
    expect(() => chNumber(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('leaves plain identifiers alone and back-quotes the rest', () => {
    expect(chIdentifier('room_events')).toBe('room_events');
    expect(chIdentifier('odd name')).toBe('`odd name`');
    expect(chIdentifier('a`b\\c')).toBe('`a\\`b\\\\c`');
    expect(() => chIdentifier('')).toThrow(RangeError);
  });

  it('formats DateTime in UTC with seconds precision', () => {
    expect(formatDateTimeUtc(new Date('2024-02-03T04:05:06.789Z'))).toBe('2024-02-03 04:05:06');
    expect(formatDateTimeUtc(Date.UTC(1999, 11, 31, 23, 59, 59))).toBe('1999-12-31 23:59:59');
    expect(chDateTime(0)).toBe("toDateTime('1970-01-01 00:00:00', 'UTC')");
    expect(() => formatDateTimeUtc(new Date(Number.NaN))).toThrow(RangeError);
  });
});
