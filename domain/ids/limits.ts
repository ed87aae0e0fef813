/**
 * Identifier length limit (appendices.md § Identifier Grammar): user ids, room ids, room aliases and
 * event ids, sigil and domain included, MUST NOT exceed 255 bytes.
 */
export const MAX_IDENTIFIER_BYTES = 255;

const utf8 = new TextEncoder();

/** The UTF-8 length of a string, the unit every Matrix size limit is stated in. */
export const utf8Length = (text: string): number => {
  // Fast path: pure ASCII strings are as long in bytes as in code units.
  return /^[\u0000-\u007f]*$/.test(text) ? text.length : utf8.encode(text).length;
};

/** A localpart character is any non-surrogate code point except `:` and NUL (historical grammar). */
export const isOpaqueLocalpart = (localpart: string): boolean =>
  localpart.isWellFormed() && !localpart.includes(':') && !localpart.includes('\u0000');
