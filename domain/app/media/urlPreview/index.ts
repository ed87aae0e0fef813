/** URL previews (`/media/preview_url`): OpenGraph of a page or image, cached. */
export { createUrlPreviews, parsePreviewUrl, MAX_PREVIEW_URL_LENGTH, type UrlPreviews, type UrlPreviewsOptions, type UrlPreviewRequest } from './previews.ts';
export { openGraphFromHtml, decodeHtml, charsetOfContentType, declaredCharset, summarizeParagraphs, absoluteUrl, type OpenGraph } from './html.ts';
export { isUrlBlacklisted, urlBlacklistEntryProblem, URL_BLACKLIST_ATTRIBUTES, type UrlBlacklistEntry } from './urlBlacklist.ts';
export type { FetchedResource, StoredPreviewImage, UrlFetchFailureReason, UrlFetchResult, UrlPreviewFetcher, UrlPreviewImageStore } from '../../../ports/urlPreview.ts';
export { mediaPreviewImages } from './images.ts';
export { oembedLinkOf, openGraphFromOEmbed, type OEmbedPreview } from './oembed.ts';
