/**
 * Access-token authentication for client routes (client-server-api § Using access tokens): the
 * token comes from `Authorization: Bearer …`, or from the deprecated `access_token` query
 * parameter (removed in v1.20, still sent by older clients). No token → 401 M_MISSING_TOKEN; an
 * unknown one → 401 M_UNKNOWN_TOKEN from the `authenticate` use-case.
 *
 * Guests (client-server-api § Guest access) may use only the routes marked with `allowGuests`
 * (the spec's list and what Synapse allows them); every other authenticated route answers them
 * 403 M_GUEST_ACCESS_FORBIDDEN, so a new route is closed to guests unless marked.
 *
 * An application service's as_token may come with the `user_id` and `device_id` (or MSC3202's
 * `org.matrix.msc3202.device_id`) query parameters it acts as (application-service-api.md
 * § Identity assertion); other tokens ignore them.
 */
import { MatrixError } from '../../../domain/index.ts';
import type { Accounts, AuthenticateOptions, IdentityAssertion, Requester } from '../../../domain/app/accounts/index.ts';
import type { RequestState, StrataContext, StrataMiddleware } from '../../http/index.ts';

export interface AuthenticatedState extends RequestState {
  requester: Requester;
  /** Set by `allowGuests` on the routes guests may use. */
  guestsAllowed?: boolean;
}

/** Marks a route guests may use; goes before the route's authentication middleware. */
export const allowGuests: StrataMiddleware = async (ctx, next) => {
  (ctx.state as Partial<AuthenticatedState>).guestsAllowed = true;
  await next();
};

/** `allowGuests` for the requests `when` accepts (e.g. only the display name of a profile). */
export const allowGuestsWhen = (when: (ctx: StrataContext) => boolean): StrataMiddleware => async (ctx, next) => {
  if (when(ctx)) (ctx.state as Partial<AuthenticatedState>).guestsAllowed = true;
  await next();
};

/** A query parameter as Synapse reads it: the first when repeated. */
const firstQueryValue = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[0] : value;
};

const assertionOf = (ctx: StrataContext): IdentityAssertion => {
  const userId = firstQueryValue(ctx, 'user_id');
  const deviceId = firstQueryValue(ctx, 'device_id') ?? firstQueryValue(ctx, 'org.matrix.msc3202.device_id');
  return { ...(userId === undefined ? {} : { userId }), ...(deviceId === undefined ? {} : { deviceId }) };
};

const authenticated = async (accounts: Pick<Accounts, 'authenticate'>, ctx: StrataContext, token: string, options: AuthenticateOptions): Promise<void> => {
  const requester = await accounts.authenticate(token, { ip: ctx.ip, userAgent: ctx.get('User-Agent') }, { ...options, assertion: assertionOf(ctx) });
  const state = ctx.state as Partial<AuthenticatedState>;
  if (requester.isGuest && state.guestsAllowed !== true) throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 403, 'Guest access not allowed');
  state.requester = requester;
};

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The token a request presents, or undefined. */
export const accessTokenOf = (ctx: StrataContext): string | undefined => {
  const header = ctx.get('Authorization');
  if (header !== '') return BEARER.exec(header)?.[1];
  const query = ctx.query.access_token;
  return typeof query === 'string' && query !== '' ? query : undefined;
};

/**
 * Authenticates the request and leaves the requester in `ctx.state.requester`. A locked account
 * answers 401 M_USER_LOCKED unless `allowLocked` (only the logout routes, § Account locking).
 */
export const requireAccessToken = (accounts: Pick<Accounts, 'authenticate'>, options: AuthenticateOptions = {}): StrataMiddleware => async (ctx, next) => {
  const token = accessTokenOf(ctx);
  if (token === undefined) throw new MatrixError('M_MISSING_TOKEN', 401, 'Missing access token');
  await authenticated(accounts, ctx, token, options);
  await next();
};

/** For endpoints where the token is optional: authenticates a request that presents one. */
export const optionalAccessToken = (accounts: Pick<Accounts, 'authenticate'>): StrataMiddleware => async (ctx, next) => {
  const token = accessTokenOf(ctx);
  if (token !== undefined) await authenticated(accounts, ctx, token, {});
  await next();
};

/** The requester `requireAccessToken` resolved; a route without that middleware is a bug. */
export const requesterOf = (ctx: StrataContext): Requester => {
  const requester = (ctx.state as Partial<AuthenticatedState>).requester;
  if (requester === undefined) throw new Error('route is missing requireAccessToken');
  return requester;
};

/** The requester when the request was authenticated, else undefined (for rate-limit keys). */
export const optionalRequesterOf = (ctx: StrataContext): Requester | undefined => (ctx.state as Partial<AuthenticatedState>).requester;
