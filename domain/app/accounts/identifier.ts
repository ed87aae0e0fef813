/**
 * User identifiers in login and `m.login.password` auth dicts (client-server-api § Identifier
 * types). `m.id.user` names the user by full user id or by localpart alone; `m.id.thirdparty`
 * (and `m.id.phone`) by a 3PID bound to the account.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { AccountsContext } from './context.ts';
import { optionalObject, optionalString } from './params.ts';

/** The error for any credential that does not match, so a caller cannot tell which part failed. */
export const badCredentials = (): MatrixError => new MatrixError('M_FORBIDDEN', 403, 'Invalid username or password');

/**
 * The local user id a login names, or undefined when it names a user of another server. Local user
 * ids are lower-case, so a localpart typed with capitals still finds its account.
 */
export const localUserIdOf = (user: string, serverName: string): string | undefined => {
  if (!user.startsWith('@')) return `@${user.toLowerCase()}:${serverName}`;
  const colon = user.indexOf(':');
  if (colon < 0 || user.slice(colon + 1) !== serverName) return undefined;
  return `@${user.slice(1, colon).toLowerCase()}:${serverName}`;
};

/** A third-party id as a login names it: `medium` and `address` strings (unbounded ones find nothing). */
const thirdPartyOf = (fields: JsonObject): { medium: string; address: string } => {
  const medium = optionalString(fields, 'medium');
  const address = optionalString(fields, 'address');
  if (medium === undefined || address === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'medium' or 'address'");
  return { medium, address };
};

/** `m.id.phone`: the number as typed, without punctuation, with its country's calling code left to the client. */
const phoneOf = (identifier: JsonObject): { medium: string; address: string } => {
  const phone = optionalString(identifier, 'phone');
  if (phone === undefined || optionalString(identifier, 'country') === undefined) {
    throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'country' or 'phone'");
  }
  return { medium: 'msisdn', address: phone.replace(/[^\d]/g, '') };
};

/** The user (`m.id.user`, `user`) or the 3PID a login or auth dict names. */
const namedUser = (body: JsonObject, serverName: string): { userId: string | undefined } | { medium: string; address: string } => {
  const identifier = optionalObject(body, 'identifier');
  if (identifier !== undefined) {
    const type = optionalString(identifier, 'type');
    if (type === 'm.id.user') {
      const user = optionalString(identifier, 'user');
      if (user === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'identifier.user'");
      return { userId: localUserIdOf(user, serverName) };
    }
    if (type === 'm.id.thirdparty') return thirdPartyOf(identifier);
    if (type === 'm.id.phone') return phoneOf(identifier);
    throw new MatrixError('M_UNKNOWN', 400, `Unknown identifier type ${JSON.stringify(type ?? null)}`);
  }
  const user = optionalString(body, 'user');
  if (user !== undefined) return { userId: localUserIdOf(user, serverName) };
  if (body.medium !== undefined || body.address !== undefined) return thirdPartyOf(body);
  throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'identifier'");
};

/** Synapse's bound on an address, beyond which no 3PID can be bound. */
const MAX_ADDRESS_LENGTH = 500;

/**
 * Reads the user a login or auth dict names: `identifier` first, then the deprecated top-level
 * `user` (or `medium`/`address`). A 3PID names the account it is bound to (an email however it is
 * cased, as it was canonicalised when bound). Undefined for a user this server cannot have, or a
 * 3PID bound to no account: the caller answers that as any other mismatch.
 */
export const userIdFromIdentifier = async (ctx: Pick<AccountsContext, 'serverName' | 'threePids'>, body: JsonObject): Promise<string | undefined> => {
  const named = namedUser(body, ctx.serverName);
  if ('userId' in named) return named.userId;
  const store = ctx.threePids?.store;
  if (store === undefined || (named.medium !== 'email' && named.medium !== 'msisdn') || named.address.length > MAX_ADDRESS_LENGTH) return undefined;
  const address = named.medium === 'email' ? named.address.trim().toLowerCase() : named.address;
  return store.ownerOf(named.medium, address);
};

/**
 * Passwords are kept as typed: UTF-8 of the string the client sent, never normalised (Synapse
 * neither), and at most this many code points (Synapse's bound, counted as Python's `len`). Argon2's
 * cost does not grow with length, but an unbounded body field is still worth refusing.
 */
export const MAX_PASSWORD_LENGTH = 512;

/** Counts code points without building an array for a password far over the bound. */
export const isPasswordTooLong = (password: string): boolean => {
  if (password.length <= MAX_PASSWORD_LENGTH) return false;
  if (password.length > 2 * MAX_PASSWORD_LENGTH) return true;
  let codePoints = 0;
  for (const _ of password) codePoints++;
  return codePoints > MAX_PASSWORD_LENGTH;
};

/**
 * Checks a password for a user id; false for unknown users and accounts without a password, and
 * for a password no account can have (too long). An unknown user still pays for one hash so
 * response times do not reveal which users exist.
 */
export const checkPassword = async (
  deps: Pick<AccountsContext, 'store' | 'hasher'>,
  userId: string | undefined,
  password: string,
): Promise<boolean> => {
  if (isPasswordTooLong(password)) return false;
  const account = userId === undefined ? undefined : await deps.store.getUser(userId);
  if (account?.passwordHash == null) {
    await deps.hasher.hash(password);
    return false;
  }
  return deps.hasher.verify(password, account.passwordHash);
};
