/** URL previews' I/O: the guarded fetcher. */
export { createUrlPreviewFetcher, fileNameOfContentDisposition, type UrlPreviewFetcherOptions } from './fetcher.ts';
