/** URL previews (`/media/preview_url`): OpenGraph of a page or image, cached, images kept as media. */
export { createUrlPreviews, type UrlPreviews, type UrlPreviewsOptions, type UrlPreviewRequest } from './previews.ts';
export { mediaPreviewImages } from './images.ts';
export { charsetOfContentType, type OpenGraph } from './html.ts';
export { urlBlacklistEntryProblem, type UrlBlacklistEntry } from './urlBlacklist.ts';
export type { FetchedResource, StoredUrlPreview, UrlFetchFailureReason, UrlFetchResult, UrlPreviewCache, UrlPreviewFetcher, UrlPreviewImageStore } from '../../../ports/urlPreview.ts';
