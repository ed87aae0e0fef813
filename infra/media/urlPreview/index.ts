/** URL previews' I/O: the guarded fetcher and the SQL store of previews. */
export { createUrlPreviewFetcher, type UrlPreviewFetcherOptions } from './fetcher.ts';
export { createSqlUrlPreviewCache } from './sqlCache.ts';
