/** Server-side search (client-server-api § Server Side Search). */
export { createSearch, type SearchContext, type SearchService, type Searcher } from './search.ts';
export { parseSearchRequest, type SearchRequest } from './request.ts';
export { searchTerms } from './terms.ts';
