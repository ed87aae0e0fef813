/** URL previews' I/O: the guarded fetcher and the SQL store of previews. */
export { createUrlPreviewFetcher, fileNameOfContentDisposition, type UrlPreviewFetcherOptions } from './fetcher.ts';
export { createSqlUrlPreviewCache, ensureUrlPreviewsSchema } from './sqlCache.ts';
