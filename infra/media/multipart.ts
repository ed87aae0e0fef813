/**
 * Reads the `multipart/mixed` answer of the federation media endpoints (server-server-api
 * § Content repository): a JSON part, then the media part with its own headers, or a `Location`
 * header instead of bytes. Bounded input (the whole answer is in memory already), no recursion.
 */
export type MediaPart =
  | { readonly kind: 'bytes'; readonly contentType: string; readonly uploadName?: string; readonly bytes: Buffer }
  | { readonly kind: 'redirect'; readonly location: string };

const BOUNDARY = /^multipart\/mixed\s*;\s*(?:.*;\s*)?boundary="?([^";]{1,70})"?\s*(?:;.*)?$/i;

const headersOf = (block: string): Map<string, string> => {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
};

/** The file name of a Content-Disposition: `filename*=utf-8''…` first, then a plain or quoted `filename`. */
export const dispositionFileName = (disposition: string | undefined): string | undefined => {
  if (disposition === undefined) return undefined;
  const extended = /(?:^|;)\s*filename\*\s*=\s*utf-8''([^;\s]+)/i.exec(disposition)?.[1];
  if (extended !== undefined) {
    try {
      return decodeURIComponent(extended);
    } catch {
      return undefined;
    }
  }
  const plain = /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(disposition);
  const name = plain?.[1]?.replace(/\\(.)/g, '$1') ?? plain?.[2];
  return name === undefined || name === '' ? undefined : name;
};

/** The media part of a multipart answer, or a reason it is not one. */
export const parseMultipartMedia = (contentType: string | undefined, body: Buffer): MediaPart | string => {
  const boundary = BOUNDARY.exec(contentType ?? '')?.[1];
  if (boundary === undefined) return `not multipart/mixed with a boundary: ${String(contentType).slice(0, 100)}`;
  const delimiter = Buffer.from(`--${boundary}`);
  const first = body.indexOf(delimiter);
  const second = first < 0 ? -1 : body.indexOf(Buffer.from(`\r\n--${boundary}\r\n`), first + delimiter.length);
  if (second < 0) return 'no second part';
  const partStart = second + delimiter.length + 4;
  const headerEnd = body.indexOf('\r\n\r\n', partStart);
  if (headerEnd < 0) return 'the media part has no end of headers';
  const headers = headersOf(body.subarray(partStart, headerEnd).toString('latin1'));
  const location = headers.get('location');
  if (location !== undefined) return { kind: 'redirect', location };
  const closing = body.lastIndexOf(Buffer.from(`\r\n--${boundary}--`));
  if (closing < headerEnd) return 'no closing boundary';
  const uploadName = dispositionFileName(headers.get('content-disposition'));
  return {
    kind: 'bytes',
    contentType: headers.get('content-type') ?? 'application/octet-stream',
    ...(uploadName === undefined ? {} : { uploadName }),
    bytes: body.subarray(headerEnd + 4, closing),
  };
};
