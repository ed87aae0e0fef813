/**
 * Validated 3PID sessions as credentials: the `m.login.email.identity` UIA stage
 * (client-server-api § Email-based (identity / homeserver)) and `/account/3pid/add`'s `sid` +
 * `client_secret` both ask "did the owner of this client secret submit the token mailed for this
 * session?". The session's address is what they prove.
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { UiaSession } from '../../ports/accounts.ts';
import type { ThreePidMedium, ThreePidStore } from '../../ports/threePids.ts';
import type { ThreePidServices } from './context.ts';

export const EMAIL_IDENTITY_STAGE = 'm.login.email.identity';

/** The client secret's grammar (client-server-api `client_secret`, identity request_email_validation.yaml). */
export const CLIENT_SECRET = /^[0-9a-zA-Z.=_-]{1,255}$/;
/** Session ids are ours (24 alphanumerics); anything far longer is not one. */
const MAX_SID_LENGTH = 255;

/**
 * How long a session outlives its token: a validated address stays usable for registering or
 * adding it this long, then the session is deleted (on the next request for a token).
 */
export const SESSION_RETENTION_MS = 24 * 3_600_000;

export interface ValidatedThreePid {
  readonly medium: ThreePidMedium;
  readonly address: string;
  readonly validatedTs: number;
}

/** The 3PID of a validated session owned by `clientSecret`, or undefined. */
export const validatedThreePid = async (
  store: ThreePidStore, sid: unknown, clientSecret: unknown, now: number,
): Promise<ValidatedThreePid | undefined> => {
  if (typeof sid !== 'string' || sid.length > MAX_SID_LENGTH || typeof clientSecret !== 'string' || !CLIENT_SECRET.test(clientSecret)) {
    return undefined;
  }
  const session = await store.getValidationSession(sid);
  if (session === undefined || session.clientSecret !== clientSecret || session.validatedTs === undefined) return undefined;
  // Sessions are swept only when tokens are requested: an old one proves nothing even before that.
  if (session.tokenExpiresTs + SESSION_RETENTION_MS < now) return undefined;
  return { medium: session.medium, address: session.address, validatedTs: session.validatedTs };
};

export type StageOutcome = { ok: true; userId: string | undefined } | { ok: false; failure: MatrixError };

/**
 * `m.login.email.identity`: `threepid_creds` (`threepidCreds` from older clients) names a
 * validated session; the 3PID is remembered for the UIA session, so the operation it guards
 * (registration, a password reset) learns which address was proven.
 */
export const attemptEmailIdentityStage = async (
  threePids: ThreePidServices, session: UiaSession, auth: JsonObject, now: number,
): Promise<StageOutcome> => {
  const creds = auth.threepid_creds ?? auth.threepidCreds;
  if (!isJsonObject(creds)) return { ok: false, failure: new MatrixError('M_MISSING_PARAM', 400, "Missing 'threepid_creds'") };
  const threePid = await validatedThreePid(threePids.store, creds.sid, creds.client_secret, now);
  if (threePid === undefined || threePid.medium !== 'email') {
    return { ok: false, failure: new MatrixError('M_UNAUTHORIZED', 401, 'Unable to get validated threepid') };
  }
  await threePids.store.recordUiaThreePid(session.sessionId, threePid.medium, threePid.address, threePid.validatedTs);
  return { ok: true, userId: session.userId };
};
