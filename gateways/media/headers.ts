/**
 * The headers every piece of media is served with, as Synapse sets them (synapse/media/_base.py):
 * media is untrusted content on the server's origin, so a browser must neither run it nor sniff a
 * more dangerous type, and only types known to be harmless are shown inline.
 */

/** Synapse's Content-Security-Policy for media: a sandbox with nothing allowed to load or run. */
export const MEDIA_CONTENT_SECURITY_POLICY =
  "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';";

/** Types a browser may render in place (Synapse's INLINE_CONTENT_TYPES; SVG left out on purpose). */
const INLINE_CONTENT_TYPES: ReadonlySet<string> = new Set([
  'text/css', 'text/plain', 'text/csv', 'application/json', 'application/ld+json',
  'image/jpeg', 'image/gif', 'image/png', 'image/apng', 'image/webp', 'image/avif',
  'video/mp4', 'video/webm', 'video/ogg', 'video/quicktime',
  'audio/mp4', 'audio/webm', 'audio/aac', 'audio/mpeg', 'audio/ogg', 'audio/wave', 'audio/wav', 'audio/x-wav',
  'audio/x-pn-wav', 'audio/flac', 'audio/x-flac',
]);

/** Text types served with a UTF-8 charset when they name none (Synapse's TEXT_CONTENT_TYPES). */
const TEXT_CONTENT_TYPES: ReadonlySet<string> = new Set([
  'text/css', 'text/csv', 'text/html', 'text/calendar', 'text/plain', 'text/javascript',
  'application/json', 'application/ld+json', 'application/rtf', 'image/svg+xml', 'text/xml',
]);

/** RFC 2616 separators: a file name holding one (or a control, space or non-ASCII) is not a token. */
const SEPARATORS = new Set(['(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}']);

const isToken = (value: string): boolean => {
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code <= 32 || code >= 127 || SEPARATORS.has(char)) return false;
  }
  return value !== '';
};

/** RFC 5987 `value-chars`: UTF-8 bytes, everything but `attr-char` percent-encoded. */
const encodeExtValue = (value: string): string =>
  [...new TextEncoder().encode(value)].map((byte) => {
    const char = String.fromCharCode(byte);
    return /[A-Za-z0-9!#$&+.^_`|~-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');

/** The Content-Type to answer: the stored one, with a UTF-8 charset added to text types that lack one. */
export const servedContentType = (contentType: string): string =>
  (TEXT_CONTENT_TYPES.has(contentType.toLowerCase()) ? `${contentType}; charset=UTF-8` : contentType);

/**
 * `inline` for the safe types, `attachment` otherwise, with the file name as a bare token when it
 * is one and as RFC 6266 `filename*=utf-8''…` otherwise, so quotes, line breaks and non-ASCII in a
 * name never reach the header raw.
 */
export const contentDisposition = (contentType: string, fileName: string | undefined): string => {
  const essence = contentType.toLowerCase().split(';', 1)[0]!.trim();
  const disposition = INLINE_CONTENT_TYPES.has(essence) ? 'inline' : 'attachment';
  if (fileName === undefined || fileName === '') return disposition;
  return isToken(fileName) ? `${disposition}; filename=${fileName}` : `${disposition}; filename*=utf-8''${encodeExtValue(fileName)}`;
};

/** The security headers of every media answer (downloads, thumbnails, and their errors alike). */
export const MEDIA_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': MEDIA_CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  // Keeps media out of search engines, as Synapse asks them.
  'X-Robots-Tag': 'noindex, nofollow, noarchive, noimageindex',
};
