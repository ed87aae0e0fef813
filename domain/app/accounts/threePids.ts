/**
 * Third-party identifiers (client-server-api § Adding Account Administrative Contact Information,
 * administrative_contact.yaml). This server sends no email or SMS and talks to no identity
 * server, so no 3PID is ever validated or bound: the list is empty and every way of adding one
 * fails the way the spec and Synapse say it does for a server without that set up.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { AccountsContext, AuthDict, Requester } from './context.ts';
import { missingParam } from './params.ts';
import { PASSWORD_FLOWS, userInteractiveAuth } from './uia.ts';

/** Synapse's `assert_params_in_dict`: every missing key named in one M_MISSING_PARAM. */
const requireParams = (body: JsonObject, keys: readonly string[]): void => {
  const missing = keys.filter((key) => body[key] === undefined);
  if (missing.length === 1) throw missingParam(missing[0]!);
  if (missing.length > 1) throw new MatrixError('M_MISSING_PARAM', 400, `Missing params: ${missing.join(', ')}`);
};

const noValidatedSession = (status: 400 | 403): MatrixError =>
  new MatrixError('M_THREEPID_AUTH_FAILED', status, 'No validated 3pid session found');

/** `GET /account/3pid`. */
export const listThreePids = (): { threepids: JsonObject[] } => ({ threepids: [] });

/**
 * `POST /account/3pid/{email,msisdn}/requestToken`: "M_THREEPID_MEDIUM_NOT_SUPPORTED: The homeserver
 * does not support adding email addresses" (resp. phone numbers), with Synapse's messages. Checked
 * before the body, as Synapse does for email: nothing in it could change the answer.
 */
export const requestThreePidToken = (medium: 'email' | 'msisdn'): never => {
  throw new MatrixError(
    'M_THREEPID_MEDIUM_NOT_SUPPORTED',
    400,
    medium === 'email'
      ? 'Adding an email to your account is disabled on this server'
      : 'Adding phone numbers to user account is not supported by this homeserver',
  );
};

/** `POST /account/3pid` (deprecated): the credentials cannot be verified, so 403 as the spec lists. */
export const addThreePidDeprecated = (body: JsonObject): never => {
  if (body.three_pid_creds === undefined && body.threePidCreds === undefined) throw missingParam('three_pid_creds');
  throw noValidatedSession(403);
};

/** `POST /account/3pid/add`: user-interactive auth first (as Synapse), then no session to add from. */
export const addThreePid = async (ctx: AccountsContext, requester: Requester, body: JsonObject, auth: AuthDict): Promise<never> => {
  requireParams(body, ['client_secret', 'sid']);
  await userInteractiveAuth(ctx, { operation: 'add_threepid', flows: PASSWORD_FLOWS, auth, userId: requester.userId });
  throw noValidatedSession(400);
};

/** `POST /account/3pid/bind`: binding goes through an identity server, which this server does not use. */
export const bindThreePid = (body: JsonObject): never => {
  requireParams(body, ['id_server', 'sid', 'id_access_token', 'client_secret']);
  throw new MatrixError('M_SERVER_NOT_TRUSTED', 400, 'This homeserver does not use identity servers');
};

/**
 * `POST /account/3pid/delete` and `/unbind`: nothing is bound, so nothing to do; `no-support` as
 * Synapse answers when no identity server is known for the address.
 */
export const removeThreePid = (body: JsonObject): { id_server_unbind_result: 'no-support' } => {
  requireParams(body, ['medium', 'address']);
  return { id_server_unbind_result: 'no-support' };
};
