/**
 * The URL preview fetcher: GETs a page a user named, which may point anywhere, so every connection
 * goes through the address policy federation uses (domain/federation/addresses.ts; Synapse's
 * `url_preview_ip_range_blacklist` / `_whitelist`): the name is resolved here, the addresses are
 * checked, and the socket connects to a checked address only (a second resolution could answer
 * differently: DNS rebinding). Redirects are followed a bounded number of times, each hop checked
 * again; the answer is bounded in size (`max_spider_size`) and the whole fetch in time.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { DEFAULT_BLOCKED_RANGES, isAddressAllowed, parseCidrList, type AddressPolicy, type CidrRange } from '../../../domain/index.ts';
import { charsetOfContentType, type UrlFetchResult, type UrlPreviewFetcher } from '../../../domain/app/media/urlPreview/index.ts';
import { systemAddressLookup, type AddressLookup } from '../../federation/client/index.ts';

export interface UrlPreviewFetcherOptions {
  /** CIDR ranges refused (Synapse's `url_preview_ip_range_blacklist`); DEFAULT_BLOCKED_RANGES when absent. */
  readonly ipRangeBlacklist?: readonly string[];
  /** CIDR ranges allowed although refused (Synapse's `url_preview_ip_range_whitelist`). */
  readonly ipRangeWhitelist: readonly string[];
  /** Largest answer read (Synapse's `max_spider_size`, 10 MiB by default). */
  readonly maxBytes: number;
  /** The whole fetch, redirects included (default 30 s). */
  readonly timeoutMs?: number;
  /** Redirects followed (default 10). */
  readonly maxRedirects?: number;
  /** Name resolution; the system's by default. */
  readonly lookup?: AddressLookup;
  readonly userAgent?: string;
  /** Synapse's `url_preview_accept_language` (default `en`). */
  readonly acceptLanguage?: readonly string[];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

type Failure = Extract<UrlFetchResult, { ok: false }>;

class FetchFailure extends Error {
  readonly failure: Failure;

  constructor(reason: Failure['reason'], message: string) {
    super(message);
    this.failure = { ok: false, reason, message };
  }
}

/** What Synapse previews: HTML, images and JSON (oEmbed). */
const isPreviewable = (mediaType: string): boolean =>
  mediaType === 'text/html' || mediaType.startsWith('application/xhtml') || mediaType.startsWith('image/') || mediaType.startsWith('application/json');

/** The file name of a Content-Disposition header (RFC 6266: `filename*` over `filename`). */
export const fileNameOfContentDisposition = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined;
  let plain: string | undefined;
  for (const parameter of header.split(';').slice(1)) {
    const equals = parameter.indexOf('=');
    if (equals < 0) continue;
    const name = parameter.slice(0, equals).trim().toLowerCase();
    const value = parameter.slice(equals + 1).trim();
    if (name === 'filename*') {
      const match = /^utf-8'[^']*'(.+)$/i.exec(value);
      if (match !== null) {
        try {
          return decodeURIComponent(match[1]!);
        } catch {
          continue;
        }
      }
    } else if (name === 'filename') plain = value.replace(/^"(.*)"$/, '$1');
  }
  return plain === '' ? undefined : plain;
};

const ranges = (texts: readonly string[], what: string): readonly CidrRange[] => {
  const parsed = parseCidrList(texts);
  if (!parsed.ok) throw new Error(`${what}: ${parsed.error}`);
  return parsed.value;
};

export const createUrlPreviewFetcher = (options: UrlPreviewFetcherOptions): UrlPreviewFetcher => {
  const addressPolicy: AddressPolicy = {
    blocked: options.ipRangeBlacklist === undefined ? DEFAULT_BLOCKED_RANGES : ranges(options.ipRangeBlacklist, 'url_preview_ip_range_blacklist'),
    allowed: ranges(options.ipRangeWhitelist, 'url_preview_ip_range_whitelist'),
  };
  const lookup = options.lookup ?? systemAddressLookup;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxRedirects = options.maxRedirects ?? 10;
  const headers = {
    'User-Agent': options.userAgent ?? 'Strata (bot)',
    'Accept-Language': (options.acceptLanguage ?? ['en']).join(', '),
    Accept: 'text/html,application/xhtml+xml,image/*,application/json;q=0.9,*/*;q=0.5',
  };

  /** The addresses of the URL's host the policy allows. */
  const checkedAddresses = async (hostname: string): Promise<string[]> => {
    if (isIP(hostname) !== 0) {
      if (!isAddressAllowed(hostname, addressPolicy)) throw new FetchFailure('blockedIp', 'IP address blocked by IP blacklist entry');
      return [hostname];
    }
    let addresses: readonly string[];
    try {
      addresses = await lookup(hostname);
    } catch (error) {
      throw new FetchFailure('dns', `cannot resolve ${hostname}: ${(error as Error).message}`);
    }
    const allowed = addresses.filter((address) => isAddressAllowed(address, addressPolicy));
    // As Synapse, a name whose every address is refused looks like a name without addresses.
    if (allowed.length === 0) throw new FetchFailure('dns', `${hostname} has no address that may be reached`);
    return allowed;
  };

  /** One GET, connecting only to `addresses` (already checked). */
  const get = (url: URL, addresses: readonly string[], signal: AbortSignal): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
        const entries = addresses.map((address) => ({ address, family: isIP(address) }));
        if ((lookupOptions as { all?: boolean }).all === true) (callback as (error: null, entries: { address: string; family: number }[]) => void)(null, entries);
        else callback(null, entries[0]!.address, entries[0]!.family);
      };
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method: 'GET', headers, lookup: pinned, signal, agent: false }, resolve);
      req.on('error', (error) => reject(signal.aborted ? new FetchFailure('unreachable', `fetching ${url.host} took longer than ${timeoutMs} ms`)
        : new FetchFailure('unreachable', `cannot fetch ${url.host}: ${error.message}`)));
      req.end();
    });

  const readBody = (response: IncomingMessage, signal: AbortSignal): Promise<Uint8Array> =>
    new Promise((resolve, reject) => {
      const declared = Number(response.headers['content-length']);
      const tooLarge = () => {
        response.destroy();
        reject(new FetchFailure('tooLarge', `Requested file is too large > ${options.maxBytes} bytes`));
      };
      if (Number.isFinite(declared) && declared > options.maxBytes) return tooLarge();
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) return tooLarge();
        chunks.push(chunk);
      });
      response.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks, size))));
      response.on('error', () => reject(new FetchFailure('unreachable', signal.aborted ? `fetching took longer than ${timeoutMs} ms` : 'the answer was cut short')));
      response.on('close', () => {
        if (!response.complete) reject(new FetchFailure('unreachable', signal.aborted ? `fetching took longer than ${timeoutMs} ms` : 'the answer was cut short'));
      });
    });

  const fetchUrl = async (start: string, signal: AbortSignal): Promise<UrlFetchResult> => {
    let url = new URL(start);
    const visited = new Set<string>();
    for (let hop = 0; ; hop++) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchFailure('unreachable', `cannot fetch a ${url.protocol} URL`);
      visited.add(url.href);
      const addresses = await checkedAddresses(url.hostname.replace(/^\[(.*)\]$/, '$1'));
      const response = await get(url, addresses, signal);
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (REDIRECTS.has(status) && location !== undefined) {
        response.resume();
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new FetchFailure('unreachable', `${url.host} redirected to an invalid URL`);
        }
        if (hop >= maxRedirects || visited.has(next.href)) throw new FetchFailure('unreachable', `too many redirects from ${start}`);
        url = next;
        continue;
      }
      if (status < 200 || status > 299) {
        response.resume();
        throw new FetchFailure('status', `Got error ${status}`);
      }
      const contentType = response.headers['content-type'] ?? 'application/octet-stream';
      const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
      if (!isPreviewable(mediaType)) {
        response.destroy();
        throw new FetchFailure('contentType', `Requested file's content type not allowed for this operation: ${mediaType}`);
      }
      const body = await readBody(response, signal);
      const charset = charsetOfContentType(contentType);
      const fileName = fileNameOfContentDisposition(response.headers['content-disposition']);
      return {
        ok: true,
        resource: { url: url.href, status, mediaType, body, ...(charset === undefined ? {} : { charset }), ...(fileName === undefined ? {} : { fileName }) },
      };
    }
  };

  return {
    async fetch(url) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        return await fetchUrl(url, controller.signal);
      } catch (error) {
        if (error instanceof FetchFailure) return error.failure;
        return { ok: false, reason: 'unreachable', message: `cannot fetch ${url}: ${(error as Error).message}` };
      } finally {
        clearTimeout(timer);
      }
    },
  };
};
