/** The URL preview routes. */
export { createPreviewUrlRouter, parsePreviewQuery, PREVIEW_URL_PATHS, type PreviewUrlRouterOptions } from './router.ts';
