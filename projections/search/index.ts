/** The full-text read model: its projection and its queries. */
export {
  DEFAULT_SEARCH_LANGUAGE, SEARCH_KEYS, SEARCH_LANGUAGES, SEARCH_PROJECTION_NAME, searchProjection, searchProjectionFor, type SearchLanguage,
} from './projection.ts';
export { SEARCH_SCHEMA, SEARCH_TABLES } from './schema.ts';
export { createSearchQueries, markedWords } from './queries.ts';
