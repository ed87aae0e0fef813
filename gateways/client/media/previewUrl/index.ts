/** The URL preview routes. */
export { createPreviewUrlRouter, type PreviewUrlRouterOptions } from './router.ts';
