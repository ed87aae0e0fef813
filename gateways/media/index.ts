/**
 * Media routes. Thumbnails and URL previews mount their own routers beside this one and reuse the
 * headers (`MEDIA_SECURITY_HEADERS`, `mediaSecurityHeaders`, `contentDisposition`) and `timeoutMsOf`.
 */
export { createMediaRouter, type MediaRouterOptions } from './router.ts';
export { createFederationMediaRouter, sendMultipartMedia, type FederationMediaRouterOptions, type MultipartMedia } from './federationRoutes.ts';
export { allowRemoteOf, mediaSecurityHeaders, timeoutMsOf } from './clientRoutes.ts';
export { contentDisposition, MEDIA_CONTENT_SECURITY_POLICY, MEDIA_SECURITY_HEADERS, servedContentType } from './headers.ts';
