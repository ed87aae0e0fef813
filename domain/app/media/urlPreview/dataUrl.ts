/**
 * `data:` URLs (RFC 2397), which pages use for inline images and Synapse previews as images:
 * `data:[<media type>][;base64],<data>`. Pure decoding: the bytes are already in the page.
 */
import { decodeBase64 } from '../../../base64.ts';
import type { FetchedResource } from '../../../ports/urlPreview.ts';

/** The resource a data URL holds; undefined when it is not a well-formed one. */
export const resourceOfDataUrl = (url: string): FetchedResource | undefined => {
  if (!/^data:/i.test(url)) return undefined;
  const comma = url.indexOf(',');
  if (comma < 0) return undefined;
  const header = url.slice('data:'.length, comma).split(';').map((part) => part.trim());
  const isBase64 = header.length > 1 && header[header.length - 1]!.toLowerCase() === 'base64';
  const mediaType = (header[0] === '' ? 'text/plain' : header[0]!).toLowerCase();
  const data = url.slice(comma + 1);
  let body: Uint8Array;
  try {
    if (isBase64) {
      const decoded = decodeBase64(decodeURIComponent(data).replace(/\s+/g, ''));
      if (decoded === undefined) return undefined;
      body = decoded;
    } else body = new TextEncoder().encode(decodeURIComponent(data));
  } catch {
    return undefined;
  }
  return { url: url.slice(0, comma + 1), status: 200, mediaType, body };
};
