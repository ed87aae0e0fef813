/** The full-text read model: its projection and its queries. */
export { searchProjection, SEARCH_KEYS, SEARCH_LANGUAGE, SEARCH_PROJECTION_NAME } from './projection.ts';
export { SEARCH_SCHEMA, SEARCH_TABLES } from './schema.ts';
export { createSearchQueries, markedWords } from './queries.ts';
