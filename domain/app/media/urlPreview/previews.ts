/**
 * `GET /media/preview_url`: the OpenGraph of a URL for a client, as Synapse builds it
 * (synapse/media/url_previewer.py). The URL is checked against the operator's URL blacklist, then
 * answered from an in-memory cache that also joins concurrent requests for one URL, else from the
 * store (previews kept with their history, which `ts` reads), else fetched (the fetcher applies the
 * IP policy, size and time limits) and read: HTML for its OpenGraph (and the oEmbed it links to),
 * an image as itself. Images are kept as the requesting user's media and named by mxc:// URI, as
 * the spec asks of og:image; without an image store no og:image is answered.
 */
import { BoundedMap } from '../../../boundedMap.ts';
import { MatrixError } from '../../../errors.ts';
import type { Clock } from '../../../ports/accounts.ts';
import type { FetchedResource, UrlFetchResult, UrlPreviewCache, UrlPreviewFetcher, UrlPreviewImageStore } from '../../../ports/urlPreview.ts';
import { absoluteUrl, decodeHtml, openGraphFromHtml, type OpenGraph } from './html.ts';
import { resourceOfDataUrl } from './dataUrl.ts';
import { oembedLinkOf, openGraphFromOEmbed } from './oembed.ts';
import { isUrlBlacklisted, type UrlBlacklistEntry } from './urlBlacklist.ts';

/** Synapse prunes keys longer than this from the answer. */
const OG_TAG_NAME_MAXLEN = 50;
/** ...and values longer than this. */
const OG_TAG_VALUE_MAXLEN = 1000;
/** Synapse does not fetch a URL more than once an hour. */
const ONE_HOUR_MS = 60 * 60 * 1000;
const ONE_DAY_MS = 24 * ONE_HOUR_MS;
/** A failure is remembered briefly, so a failing site is not asked again by every client at once. */
const FAILURE_TTL_MS = 60 * 1000;
/** Fetches under way at once: each may hold up to max_spider_size in memory. */
const MAX_CONCURRENT_FETCHES = 16;
/** Fetches waiting for a slot; beyond them a request is told to come back (429). */
const MAX_WAITING_FETCHES = 256;
/** Longest URL previewed (a client-chosen value kept in the cache). */
export const MAX_PREVIEW_URL_LENGTH = 2048;

export interface UrlPreviewsOptions {
  readonly fetcher: UrlPreviewFetcher;
  /** Where fetched images are kept as media; none: answers carry no og:image. */
  readonly images?: UrlPreviewImageStore;
  readonly clock: Clock;
  /** Previews kept across restarts with their history, which `ts` reads; none: memory only. */
  readonly store?: UrlPreviewCache;
  /** Synapse's `url_preview_url_blacklist`. */
  readonly urlBlacklist?: readonly UrlBlacklistEntry[];
  /** URLs whose previews are remembered (default 1,000). */
  readonly cacheCapacity?: number;
  /** How long a preview is remembered (default an hour, as Synapse). */
  readonly cacheTtlMs?: number;
}

export interface UrlPreviewRequest {
  readonly userId: string;
  readonly url: string;
  /** The point in time the client would like a preview of (ms); a newer one may answer. */
  readonly ts?: number;
}

export interface UrlPreviews {
  preview(request: UrlPreviewRequest): Promise<OpenGraph>;
}

interface CacheEntry {
  readonly expiresAt: number;
  readonly answer: Promise<OpenGraph>;
}

/** The Matrix error Synapse answers for a failed fetch. */
const fetchError = (failure: Extract<UrlFetchResult, { ok: false }>): MatrixError => {
  switch (failure.reason) {
    case 'blockedIp':
      return new MatrixError('M_UNKNOWN', 403, 'IP address blocked by IP blacklist entry');
    case 'dns':
      return new MatrixError('M_UNKNOWN', 502, 'DNS resolution failure during URL preview generation');
    case 'tooLarge':
      return new MatrixError('M_TOO_LARGE', 502, failure.message);
    case 'contentType':
    case 'status':
    case 'unreachable':
      return new MatrixError('M_UNKNOWN', 502, failure.message);
  }
};

const isImage = (mediaType: string) => mediaType.startsWith('image/');
const isHtml = (mediaType: string) => mediaType === 'text/html' || mediaType.startsWith('application/xhtml');

/** Checks the `url` parameter: an absolute http(s) URL of bounded length. */
export const parsePreviewUrl = (text: string): string => {
  if (text.length > MAX_PREVIEW_URL_LENGTH) throw new MatrixError('M_INVALID_PARAM', 400, `'url' is longer than ${MAX_PREVIEW_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new MatrixError('M_INVALID_PARAM', 400, "'url' is not an absolute URL");
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MatrixError('M_INVALID_PARAM', 400, "'url' must be an http or https URL");
  return url.href;
};

/** Drops the keys and values Synapse deems overlong. */
const pruned = (og: OpenGraph): OpenGraph =>
  Object.fromEntries(Object.entries(og).filter(([key, value]) => key.length <= OG_TAG_NAME_MAXLEN && String(value).length <= OG_TAG_VALUE_MAXLEN));

export const createUrlPreviews = (options: UrlPreviewsOptions): UrlPreviews => {
  const cache = new BoundedMap<string, CacheEntry>(options.cacheCapacity ?? 1_000);
  const ttlMs = options.cacheTtlMs ?? ONE_HOUR_MS;
  const urlBlacklist = options.urlBlacklist ?? [];
  let fetching = 0;
  const waiting: (() => void)[] = [];

  /** A fetch within the concurrency bound; a finished fetch hands its slot to the next waiting. */
  const fetchUrl = async (url: string): Promise<UrlFetchResult> => {
    if (fetching < MAX_CONCURRENT_FETCHES) fetching++;
    else {
      if (waiting.length >= MAX_WAITING_FETCHES) throw new MatrixError('M_LIMIT_EXCEEDED', 429, 'Too many URL previews under way', { retry_after_ms: 1_000 });
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    try {
      return await options.fetcher.fetch(url);
    } finally {
      const next = waiting.shift();
      if (next === undefined) fetching--;
      else next();
    }
  };

  /** Keeps an image as the user's media: the og:image fields, or none when it cannot be kept. */
  const keptImage = async (userId: string, image: FetchedResource): Promise<OpenGraph | undefined> => {
    if (options.images === undefined || !isImage(image.mediaType)) return undefined;
    // Keeping the image is a courtesy: when it fails, the preview goes on without it (as Synapse's pre-caching).
    const stored = await options.images.storeImage({
      userId,
      mediaType: image.mediaType,
      bytes: image.body,
      ...(image.fileName === undefined ? {} : { fileName: image.fileName }),
    }).catch(() => undefined);
    if (stored === undefined) return undefined;
    return {
      'og:image': stored.contentUri,
      'og:image:type': image.mediaType,
      'matrix:image:size': image.body.length,
      ...(stored.width === undefined ? {} : { 'og:image:width': stored.width }),
      ...(stored.height === undefined ? {} : { 'og:image:height': stored.height }),
    };
  };

  /** The page's og:image fetched and kept; a failure only drops the image (as Synapse). */
  const withKeptImage = async (userId: string, og: OpenGraph): Promise<OpenGraph> => {
    const { 'og:image': imageUrl, ...rest } = og;
    if (typeof imageUrl !== 'string' || options.images === undefined) return rest;
    const url = absoluteUrl(imageUrl, imageUrl);
    if (url === undefined) return rest;
    // An inline image is in the page already (Synapse previews data: images too).
    const inline = resourceOfDataUrl(url);
    let resource: FetchedResource;
    if (inline !== undefined) resource = inline;
    else {
      if (!url.startsWith('http') || isUrlBlacklisted(url, urlBlacklist)) return rest;
      const fetched = await fetchUrl(url);
      if (!fetched.ok) return rest;
      resource = fetched.resource;
    }
    const image = await keptImage(userId, resource);
    return image === undefined ? rest : { ...rest, ...image };
  };

  /** The oEmbed answer a page links to; a failure only leaves it out. */
  const discoveredOEmbed = async (html: string, pageUrl: string) => {
    const link = oembedLinkOf(html, pageUrl);
    if (link === undefined || isUrlBlacklisted(link, urlBlacklist)) return undefined;
    const fetched = await fetchUrl(link);
    if (!fetched.ok || !fetched.resource.mediaType.startsWith('application/json')) return undefined;
    return openGraphFromOEmbed(fetched.resource.body, fetched.resource.url);
  };

  /** The preview, and how long it holds when its oEmbed said (`cache_age`). */
  const fetchAndRead = async (userId: string, url: string): Promise<{ og: OpenGraph; holdsMs?: number }> => {
    const fetched = await fetchUrl(url);
    if (!fetched.ok) throw fetchError(fetched);
    const resource = fetched.resource;
    if (isImage(resource.mediaType)) {
      const image = await keptImage(userId, resource);
      return { og: pruned({ ...(resource.fileName === undefined ? {} : { 'og:description': resource.fileName }), ...image }) };
    }
    if (isHtml(resource.mediaType)) {
      const html = decodeHtml(resource.body, resource.charset);
      const fromHtml = openGraphFromHtml(html, resource.url);
      const fromOEmbed = await discoveredOEmbed(html, resource.url);
      // The page's own OpenGraph wins: oEmbed stubs of script-built pages say less (as Synapse).
      const og: OpenGraph = { ...fromOEmbed?.og, ...fromHtml };
      if (!('og:title' in og) && fromOEmbed?.authorName !== undefined) og['og:title'] = fromOEmbed.authorName;
      return { og: pruned(await withKeptImage(userId, og)), ...(fromOEmbed?.cacheAgeMs === undefined ? {} : { holdsMs: fromOEmbed.cacheAgeMs }) };
    }
    // JSON (an oEmbed answer fetched directly) is previewable but carries no OpenGraph of its own.
    return { og: {} };
  };

  /** The kept preview that held at `ts` (Synapse's history-aware cache), else a fresh one, kept. */
  const build = async (userId: string, url: string, ts: number): Promise<OpenGraph> => {
    const kept = await options.store?.previewAt(url, ts);
    if (kept !== undefined && kept.expiresTs > ts) return { ...kept.og };
    const { og, holdsMs } = await fetchAndRead(userId, url);
    const downloadTs = options.clock.now();
    // As Synapse, an oEmbed's cache_age replaces the hour, but no preview is kept past a day.
    await options.store?.keep(url, { og, downloadTs, expiresTs: downloadTs + Math.min(holdsMs ?? ttlMs, ONE_DAY_MS) });
    return og;
  };

  return {
    async preview({ userId, url: rawUrl, ts }) {
      const url = parsePreviewUrl(rawUrl);
      if (isUrlBlacklisted(url, urlBlacklist)) throw new MatrixError('M_UNKNOWN', 403, 'URL blocked by url pattern blacklist entry');
      const now = options.clock.now();
      // As Synapse's, the memory cache answers whatever `ts` asks: it holds the newest preview, which
      // the spec allows ("the server may return a newer version"); the store answers past ones.
      const cached = cache.get(url);
      if (cached !== undefined && cached.expiresAt > now) return cached.answer;
      const answer = build(userId, url, ts ?? now);
      cache.set(url, { expiresAt: now + ttlMs, answer });
      answer.catch((error: unknown) => {
        const entry = cache.get(url);
        if (entry?.answer !== answer) return;
        // Being too busy says nothing about the URL: the next request tries afresh.
        if (error instanceof MatrixError && error.errcode === 'M_LIMIT_EXCEEDED') cache.delete(url);
        else cache.set(url, { expiresAt: Math.min(entry.expiresAt, options.clock.now() + FAILURE_TTL_MS), answer });
      });
      return answer;
    },
  };
};
