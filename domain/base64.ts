/**
 * Unpadded Base64 (appendices.md § Unpadded Base64): RFC 4648 without `=` padding, in the standard
 * alphabet and the URL-safe one (`-` and `_` as the 62nd and 63rd characters).
 */

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9\-_]*={0,2}$/;

const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Encodes bytes as unpadded standard Base64. */
export const encodeBase64 = (bytes: Uint8Array): string => toBuffer(bytes).toString('base64').replace(/=+$/, '');

/** Encodes bytes as unpadded URL-safe Base64 (event ids since room v4). */
export const encodeBase64Url = (bytes: Uint8Array): string => toBuffer(bytes).toString('base64url');

/**
 * Checks the shape shared by both alphabets: padding only at the end and only to a multiple of 4,
 * and no length that no byte sequence encodes to (a lone trailing character).
 */
const wellFormed = (text: string, alphabet: RegExp): string | undefined => {
  if (!alphabet.test(text)) return undefined;
  const body = text.replace(/=+$/, '');
  const padding = text.length - body.length;
  if (padding > 0 && text.length % 4 !== 0) return undefined;
  if (body.length % 4 === 1) return undefined;
  return body;
};

/**
 * Decodes standard Base64. The spec says decoders SHOULD accept input with or without padding,
 * so both are accepted; anything else (other characters, impossible lengths) gives undefined.
 */
export const decodeBase64 = (text: string): Uint8Array | undefined => {
  const body = wellFormed(text, STANDARD);
  return body === undefined ? undefined : new Uint8Array(Buffer.from(body, 'base64'));
};

/** Decodes URL-safe Base64, padded or unpadded; undefined when the text is not URL-safe Base64. */
export const decodeBase64Url = (text: string): Uint8Array | undefined => {
  const body = wellFormed(text, URL_SAFE);
  return body === undefined ? undefined : new Uint8Array(Buffer.from(body, 'base64url'));
};

/** Re-encodes standard unpadded Base64 as URL-safe (same bytes, different alphabet). */
export const base64ToUrlSafe = (text: string): string => text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
