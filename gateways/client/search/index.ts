/** The /search route. */
export { createSearchRouter, type SearchRouterOptions } from './router.ts';
