/**
 * Shared-secret registration, Synapse's admin API (`GET`/`POST /_synapse/admin/v1/register`):
 * a single-use nonce, then a request whose `mac` is the hex HMAC-SHA1, keyed by the shared secret,
 * of nonce NUL username NUL password NUL ("admin" | "notadmin") [NUL user_type].
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MatrixError } from '../../errors.ts';
import type { AccountsContext } from './context.ts';
import { checkPasswordLength, createAccount, userIdForUsername } from './register.ts';
import { newNonce } from './secrets.ts';
import { issueSession, type IssuedSession } from './sessions.ts';

const DEFAULT_NONCE_LIFETIME_MS = 60_000;

export interface SharedSecretRegistration {
  readonly nonce: string;
  readonly username: string;
  readonly password: string;
  readonly admin: boolean;
  readonly displayName?: string;
  readonly userType?: string;
  readonly mac: string;
}

const secretOf = (ctx: AccountsContext): string => {
  if (ctx.registrationSharedSecret === undefined || ctx.registrationSharedSecret === '') {
    throw new MatrixError('M_UNKNOWN', 400, 'Shared secret registration is not enabled');
  }
  return ctx.registrationSharedSecret;
};

/** The MAC a client computes; exported so tests and tooling build requests the same way. */
export const sharedSecretMac = (secret: string, r: Omit<SharedSecretRegistration, 'mac' | 'displayName'>): string => {
  const parts = [r.nonce, r.username, r.password, r.admin ? 'admin' : 'notadmin'];
  if (r.userType !== undefined) parts.push(r.userType);
  return createHmac('sha1', secret).update(parts.join('\u0000'), 'utf8').digest('hex');
};

export const newRegistrationNonce = async (ctx: AccountsContext): Promise<string> => {
  secretOf(ctx);
  const nonce = newNonce(ctx.random);
  await ctx.store.addRegistrationNonce(nonce, ctx.clock.now() + (ctx.registrationNonceLifetimeMs ?? DEFAULT_NONCE_LIFETIME_MS));
  return nonce;
};

const macMatches = (expectedHex: string, givenHex: string): boolean => {
  const expected = Buffer.from(expectedHex, 'utf8');
  const given = Buffer.from(givenHex.toLowerCase(), 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
};

export const registerWithSharedSecret = async (ctx: AccountsContext, request: SharedSecretRegistration): Promise<IssuedSession> => {
  const secret = secretOf(ctx);
  // Consumed before the MAC is checked: a nonce is worth one attempt, right or wrong.
  if (!(await ctx.store.consumeRegistrationNonce(request.nonce, ctx.clock.now()))) {
    throw new MatrixError('M_UNKNOWN', 400, 'Unrecognised nonce');
  }
  if (!macMatches(sharedSecretMac(secret, request), request.mac)) {
    throw new MatrixError('M_FORBIDDEN', 403, 'HMAC incorrect');
  }
  checkPasswordLength('password', request.password);
  const userId = userIdForUsername(request.username, ctx.serverName);
  const created = await createAccount(ctx, userId, await ctx.hasher.hash(request.password), {
    isAdmin: request.admin,
    ...(request.displayName === undefined ? {} : { displayName: request.displayName }),
  });
  if (!created) throw new MatrixError('M_USER_IN_USE', 400, 'User ID already taken.');
  return issueSession(ctx, userId, undefined, undefined);
};
