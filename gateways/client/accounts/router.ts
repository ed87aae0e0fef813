/**
 * The accounts router: login, registration, sessions, password, devices and profiles under
 * `/_matrix/client/v3` (and `r0`). Login and registration are rate-limited per client IP.
 */
import { Router } from '@koa/router';
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import type { Appservices } from '../../../domain/app/appservices/index.ts';
import type { RequestState, StrataContext, StrataRouter } from '../../http/index.ts';
import { addAccountRoutes } from './accountRoutes.ts';
import { addAppserviceRoutes } from './appserviceRoutes.ts';
import { accessTokenOf, requireAccessToken } from './auth.ts';
import { addDeviceRoutes } from './deviceRoutes.ts';
import { addFallbackRoutes } from './fallbackRoutes.ts';
import { addDiscoveryRoutes, type SupportInfo } from './discoveryRoutes.ts';
import { addModerationRoutes } from './moderationRoutes.ts';
import { addProfileRoutes } from './profileRoutes.ts';
import { createTokenBucketLimiter, rateLimit, type RateLimitSetting } from './rateLimit.ts';
import { addRegisterRoutes } from './registerRoutes.ts';
import { addSessionRoutes } from './sessionRoutes.ts';
import { addThirdPartyRoutes } from './thirdPartyRoutes.ts';

export interface AccountsRouterOptions {
  readonly accounts: Accounts;
  /** null = unlimited (the config's `rate_limits.login` / `.registration`). */
  readonly rateLimits: {
    readonly login: RateLimitSetting | null;
    readonly registration: RateLimitSetting | null;
    /** `…/requestToken`, which may send mail; unlimited when absent. */
    readonly threepidValidation?: RateLimitSetting | null;
  };
  /** `m.homeserver.base_url` of `/.well-known/matrix/client`, read per request. */
  readonly publicBaseUrl?: () => string;
  /** `/.well-known/matrix/support` (the config's `support`); absent: 404. */
  readonly support?: SupportInfo;
  /** Bridges: the appservice ping and third-party lookups; absent: those routes are not served. */
  readonly appservices?: Pick<Appservices, 'ping' | 'protocols' | 'protocol' | 'lookup'>;
  /** Clock for the rate limiter (tests); Date.now by default. */
  readonly now?: () => number;
}

export const createAccountsRouter = (options: AccountsRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  const limiter = (setting: RateLimitSetting | null) => (setting === null ? null : createTokenBucketLimiter(setting, options.now));
  const auth = requireAccessToken(options.accounts);
  // Login and registration come before authentication: the as_token they present is looked at
  // here. An unlimited bridge's logins are not limited; no bridge's registrations count (Synapse).
  const appserviceOf = (ctx: StrataContext) => {
    const token = accessTokenOf(ctx);
    return token === undefined ? undefined : options.accounts.appserviceOfToken(token);
  };
  const loginLimit = rateLimit(limiter(options.rateLimits.login), undefined, (ctx) => appserviceOf(ctx)?.rateLimited === false);
  addSessionRoutes(router, options.accounts, auth, loginLimit);
  addRegisterRoutes(router, options.accounts, rateLimit(limiter(options.rateLimits.registration), undefined, (ctx) => appserviceOf(ctx) !== undefined));
  addDeviceRoutes(router, options.accounts, auth);
  addProfileRoutes(router, options.accounts, auth);
  addAccountRoutes(router, options.accounts, auth, rateLimit(limiter(options.rateLimits.threepidValidation ?? null)));
  addModerationRoutes(router, options.accounts, auth);
  addDiscoveryRoutes(router, options.publicBaseUrl, options.support, auth);
  if (options.appservices !== undefined) {
    addThirdPartyRoutes(router, auth, options.appservices);
    addAppserviceRoutes(router, auth, options.appservices);
  }
  addFallbackRoutes(router, options.accounts);
  return router;
};
