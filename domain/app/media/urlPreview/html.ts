/**
 * OpenGraph from an HTML page, as Synapse reads it (synapse/media/preview_html.py): `og:`,
 * `article:` and `profile:` meta properties, `twitter:` cards where OpenGraph says nothing, then
 * fallbacks — `<title>` or the first heading for og:title, an itemprop image, the largest `<img>`
 * with dimensions, any `<img>` or the icon for og:image, `meta name=description` or the page's
 * text for og:description. Parsed by htmlparser2's tokenizer (tolerant, streaming, no tree kept).
 */
import { Parser } from 'htmlparser2';

export type OpenGraph = Record<string, string | number>;

/** Synapse gives up on a page with more tags of one prefix than this. */
const MAX_TAGS_PER_PREFIX = 50;
/** Text kept for the description fallback, so a huge page costs bounded memory. */
const MAX_TEXT_CHARS = 10_000;
/** Elements whose text is not the page's prose (Synapse's TAGS_TO_REMOVE; a title outside <head> too). */
const NON_PROSE = new Set(['head', 'title', 'header', 'nav', 'aside', 'footer', 'script', 'noscript', 'style', 'svg', 'iframe', 'video', 'canvas', 'img', 'picture', 'template']);
const VOID_ELEMENTS = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);
const TITLE_ELEMENTS = new Set(['title', 'h1', 'h2', 'h3']);

const PREFIXES = ['og', 'article', 'profile'] as const;

/** The twitter: key's OpenGraph name; undefined for card keys OpenGraph has no equivalent of. */
const twitterToOpenGraph = (key: string): string | undefined =>
  (key === 'twitter:card' || key === 'twitter:creator' || key === 'twitter:site' ? undefined : `og${key.slice('twitter'.length)}`);

const positiveNumber = (text: string | undefined): number => {
  const n = Number.parseFloat(text ?? '');
  return Number.isFinite(n) ? n : 0;
};

/** Resolves a link of the page against its URL; undefined when it is not an http(s) or data URL. */
export const absoluteUrl = (link: string, base: string): string | undefined => {
  try {
    const url = new URL(link.trim(), base);
    return url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'data:' ? url.href : undefined;
  } catch {
    return undefined;
  }
};

/**
 * A summary of the page's text: whole paragraphs until 200 characters, cut at a word boundary
 * (with an ellipsis) past 500 (Synapse's summarize_paragraphs).
 */
export const summarizeParagraphs = (paragraphs: Iterable<string>, minSize = 200, maxSize = 500): string | undefined => {
  let description = '';
  for (const paragraph of paragraphs) {
    if (description.length >= minSize) break;
    description += `${paragraph.replace(/[\t \r\n]+/g, ' ')}\n\n`;
  }
  description = description.trim().replace(/[\t ]+/g, ' ').replace(/[\t \r\n]*[\r\n]+/g, '\n\n');
  if (description.length > maxSize) {
    let cut = '';
    for (const [word] of description.matchAll(/\s*\S+/g)) {
      if (word.length + cut.length < maxSize) cut += word;
      else {
        if (cut.length < minSize) cut += word;
        break;
      }
    }
    description = `${cut.slice(0, maxSize).trim()}…`;
  }
  return description === '' ? undefined : description;
};

interface ImageCandidate {
  readonly src: string;
  readonly area: number;
}

/** Reads the OpenGraph of `html`, whose links resolve against `pageUrl`. */
export const openGraphFromHtml = (html: string, pageUrl: string): OpenGraph => {
  const tags: Record<(typeof PREFIXES)[number], Map<string, string>> = { og: new Map(), article: new Map(), profile: new Map() };
  const overflowed = new Set<string>();
  const twitter = new Map<string, string>();
  let itempropImage: string | undefined;
  let metaDescription: string | undefined;
  let icon: string | undefined;
  let firstImage: string | undefined;
  let largestImage: ImageCandidate | undefined;
  let title: string | undefined;
  let titleElement: { name: string; text: string } | undefined;
  let base = pageUrl;
  const open: string[] = [];
  let nonProseDepth = 0;
  const paragraphs: string[] = [];
  let textSize = 0;

  const parser = new Parser({
    onopentag(name, attributes) {
      if (name === 'base' && attributes.href !== undefined) base = absoluteUrl(attributes.href, pageUrl) ?? base;
      if (name === 'meta') {
        const content = attributes.content?.trim();
        if (content === undefined || content === '') return;
        const property = attributes.property;
        const prefix = property?.split(':', 1)[0];
        if (property !== undefined && prefix !== undefined && property.includes(':') && (PREFIXES as readonly string[]).includes(prefix)) {
          const map = tags[prefix as (typeof PREFIXES)[number]];
          if (!map.has(property) && map.size >= MAX_TAGS_PER_PREFIX) overflowed.add(prefix);
          else map.set(property, content);
        }
        const metaName = attributes.name;
        if (metaName?.startsWith('twitter:') === true) {
          const key = twitterToOpenGraph(metaName);
          if (key !== undefined && (twitter.has(key) || twitter.size < MAX_TAGS_PER_PREFIX)) twitter.set(key, content);
        }
        if (metaName !== undefined && metaDescription === undefined && /description/i.test(metaName)) metaDescription = content;
        if (attributes.itemprop !== undefined && itempropImage === undefined && /image/i.test(attributes.itemprop)) itempropImage = content;
        return;
      }
      if (name === 'img') {
        const src = attributes.src?.trim();
        if (src === undefined || src === '') return;
        firstImage ??= src;
        const width = positiveNumber(attributes.width);
        const height = positiveNumber(attributes.height);
        if (width > 10 && height > 10 && (largestImage === undefined || width * height > largestImage.area)) largestImage = { src, area: width * height };
        return;
      }
      if (name === 'link') {
        const rel = (attributes.rel ?? '').toLowerCase().split(/\s+/);
        const href = attributes.href?.trim();
        if (icon === undefined && rel.includes('icon') && href !== undefined && href !== '') icon = href;
        return;
      }
      if (VOID_ELEMENTS.has(name)) return;
      open.push(name);
      if (NON_PROSE.has(name)) nonProseDepth++;
      if (title === undefined && titleElement === undefined && TITLE_ELEMENTS.has(name)) titleElement = { name, text: '' };
    },
    ontext(text) {
      if (titleElement !== undefined) titleElement.text += text;
      if (nonProseDepth === 0 && textSize < MAX_TEXT_CHARS) {
        const paragraph = text.replace(/\s+/g, '\n').trim();
        if (paragraph !== '') {
          paragraphs.push(paragraph);
          textSize += paragraph.length;
        }
      }
    },
    onclosetag(name) {
      if (VOID_ELEMENTS.has(name)) return;
      const index = open.lastIndexOf(name);
      if (index < 0) return;
      for (const closed of open.splice(index)) if (NON_PROSE.has(closed)) nonProseDepth--;
      if (titleElement !== undefined && titleElement.name === name) {
        const text = titleElement.text.trim();
        titleElement = undefined;
        if (text !== '') title = text;
      }
    },
  }, { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true });
  parser.end(html);

  const og: OpenGraph = {};
  for (const prefix of PREFIXES) {
    if (overflowed.has(prefix)) continue;
    for (const [key, value] of tags[prefix]) og[key] = value;
  }
  for (const [key, value] of twitter) if (!(key in og)) og[key] = value;

  if (!('og:title' in og) && title !== undefined) og['og:title'] = title;
  if (!('og:image' in og)) {
    const image = itempropImage ?? largestImage?.src ?? firstImage ?? icon;
    if (image !== undefined) og['og:image'] = image;
  }
  if (typeof og['og:image'] === 'string') {
    const resolved = absoluteUrl(og['og:image'], base);
    if (resolved === undefined) delete og['og:image'];
    else og['og:image'] = resolved;
  }
  if (typeof og['og:description'] === 'string') {
    const summary = summarizeParagraphs([og['og:description']]);
    if (summary === undefined) delete og['og:description'];
    else og['og:description'] = summary;
  } else {
    const description = metaDescription ?? summarizeParagraphs(paragraphs);
    if (description !== undefined) og['og:description'] = description;
  }
  return og;
};

/**
 * The character set a page declares in its first 1024 bytes (`<meta charset>` or
 * `<meta http-equiv="Content-Type" content="...; charset=...">`), the HTML prescan's window.
 */
export const declaredCharset = (prefix: Uint8Array): string | undefined => {
  let charset: string | undefined;
  const parser = new Parser({
    onopentag(name, attributes) {
      if (name !== 'meta' || charset !== undefined) return;
      if (attributes.charset !== undefined && attributes.charset.trim() !== '') charset = attributes.charset.trim();
      else if (attributes['http-equiv']?.toLowerCase() === 'content-type' && attributes.content !== undefined) {
        charset = charsetOfContentType(attributes.content);
      }
    },
  }, { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true });
  // Latin-1 maps every byte to one character, so ASCII markup reads the same in any ASCII-compatible charset.
  parser.end(new TextDecoder('latin1').decode(prefix.subarray(0, 1024)));
  return charset;
};

/** The `charset` parameter of a Content-Type value. */
export const charsetOfContentType = (contentType: string): string | undefined => {
  for (const parameter of contentType.split(';').slice(1)) {
    const [name, ...rest] = parameter.split('=');
    if (name?.trim().toLowerCase() === 'charset') {
      const value = rest.join('=').trim().replace(/^"(.*)"$/, '$1');
      return value === '' ? undefined : value;
    }
  }
  return undefined;
};

const decoderFor = (label: string | undefined): InstanceType<typeof TextDecoder> | undefined => {
  if (label === undefined) return undefined;
  try {
    return new TextDecoder(label);
  } catch {
    return undefined;
  }
};

/**
 * The page's text, decoded as the HTML standard orders it: a byte order mark, then the charset of
 * the Content-Type, then the page's own declaration, then UTF-8; an unknown label counts as absent.
 */
export const decodeHtml = (body: Uint8Array, contentTypeCharset: string | undefined): string => {
  const bom = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 'utf-8'
    : body[0] === 0xfe && body[1] === 0xff ? 'utf-16be'
      : body[0] === 0xff && body[1] === 0xfe ? 'utf-16le' : undefined;
  const decoder = decoderFor(bom) ?? decoderFor(contentTypeCharset) ?? decoderFor(declaredCharset(body)) ?? new TextDecoder('utf-8');
  return decoder.decode(body);
};
