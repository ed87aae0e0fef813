/**
 * oEmbed, as far as Synapse reads it without provider lists (synapse/media/oembed.py): a page
 * names its JSON oEmbed answer with `<link rel="alternate" type="application/json+oembed">`, and
 * that answer gives a title, an author, the provider's name, a thumbnail, and for `photo` its
 * image, for `rich` and `video` an HTML fragment whose text describes it. The page's own
 * OpenGraph wins where both say something.
 */
import { Parser } from 'htmlparser2';
import { absoluteUrl, openGraphFromHtml, type OpenGraph } from './html.ts';

/** The page's JSON oEmbed link, made absolute; undefined when it names none (or no http(s) one). */
export const oembedLinkOf = (html: string, pageUrl: string): string | undefined => {
  let link: string | undefined;
  const parser = new Parser({
    onopentag(name, attributes) {
      if (link !== undefined || name !== 'link') return;
      const rel = (attributes.rel ?? '').toLowerCase().split(/\s+/);
      if (!rel.includes('alternate') || (attributes.type ?? '').toLowerCase() !== 'application/json+oembed' || attributes.href === undefined) return;
      const url = absoluteUrl(attributes.href, pageUrl);
      if (url !== undefined && url.startsWith('http')) link = url;
    },
  }, { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true });
  parser.end(html);
  return link;
};

export interface OEmbedPreview {
  readonly og: OpenGraph;
  /** The author, which stands in for a missing title. */
  readonly authorName?: string;
  /** How long the answer may be kept (`cache_age`, in ms). */
  readonly cacheAgeMs?: number;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

/** The OpenGraph of an oEmbed 1.0 JSON answer fetched from `url`; undefined when it is not one. */
export const openGraphFromOEmbed = (body: Uint8Array, url: string): OEmbedPreview | undefined => {
  let oembed: unknown;
  try {
    oembed = JSON.parse(new TextDecoder('utf-8').decode(body));
  } catch {
    return undefined;
  }
  if (typeof oembed !== 'object' || oembed === null || Array.isArray(oembed)) return undefined;
  const answer = oembed as Record<string, unknown>;
  const version = answer.version ?? '1.0';
  if (version !== '1.0' && version !== 1) return undefined;
  const og: OpenGraph = {};
  const title = text(answer.title);
  if (title !== undefined) og['og:title'] = title;
  const providerName = text(answer.provider_name);
  if (providerName !== undefined) og['og:site_name'] = providerName;
  const thumbnail = text(answer.thumbnail_url);
  if (thumbnail !== undefined) og['og:image'] = thumbnail;
  const type = answer.type;
  if (type === 'photo') {
    const photo = text(answer.url);
    if (photo !== undefined) og['og:image'] = photo;
  } else if (type === 'rich' || type === 'video') {
    if (type === 'video') og['og:type'] = 'video.other';
    const html = text(answer.html);
    if (html !== undefined) {
      const fromHtml = openGraphFromHtml(`<body>${html}</body>`, url);
      if (typeof fromHtml['og:description'] === 'string') og['og:description'] = fromHtml['og:description'];
      if (!('og:image' in og) && typeof fromHtml['og:image'] === 'string') og['og:image'] = fromHtml['og:image'];
    }
  } else if (type === 'link') og['og:type'] = 'website';
  const authorName = text(answer.author_name);
  const cacheAge = Number(answer.cache_age);
  const cacheAgeMs = answer.cache_age !== undefined && Number.isSafeInteger(cacheAge) && cacheAge >= 0 ? cacheAge * 1000 : undefined;
  return { og, ...(authorName === undefined ? {} : { authorName }), ...(cacheAgeMs === undefined ? {} : { cacheAgeMs }) };
};
