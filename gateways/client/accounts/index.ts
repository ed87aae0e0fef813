/** Client-server account routes and the middleware other client routes reuse. */
export { createAccountsRouter, type AccountsRouterOptions } from './router.ts';
export type { SupportContact, SupportInfo } from './discoveryRoutes.ts';
export { accessTokenOf, allowGuests, allowGuestsWhen, optionalAccessToken, optionalRequesterOf, requesterOf, requireAccessToken, type AuthenticatedState } from './auth.ts';
export { createTokenBucketLimiter, rateLimit, type RateLimiter, type RateLimitSetting } from './rateLimit.ts';
export { guardedRequest, renderUiaChallenge } from './uia.ts';
export { CLIENT_PREFIXES, clientPaths, clientPathsWithUnstable } from './paths.ts';
