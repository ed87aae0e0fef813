/**
 * User-interactive authentication (client-server-api § User-Interactive Authentication API).
 * A guarded request without a complete flow answers 401 with `flows`, `params`, `session` and the
 * `completed` stages; a failed stage adds `errcode`/`error` to that same body. Stages of a flow
 * must be completed in order.
 *
 * A failed stage is a 401, never a 403, even for a wrong password: the spec's example of a failed
 * attempt is exactly `401 {errcode: M_FORBIDDEN, error: "Invalid password", flows…}`, and Synapse
 * answers the same (its checkers raise 403 LoginErrors, which `check_ui_auth` folds into the 401).
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../canonicalJson.ts';
import { MatrixError } from '../../errors.ts';
import type { JsonObject, JsonValue } from '../../json.ts';
import type { UiaSession } from '../../ports/accounts.ts';
import type { AccountsContext, GuardedRequest } from './context.ts';
import { attemptEmailIdentityStage, EMAIL_IDENTITY_STAGE, type StageOutcome } from './emailIdentity.ts';
import { createFailedAttempts, type FailedAttempts } from './failedAttempts.ts';
import { checkPassword, userIdFromIdentifier } from './identifier.ts';
import { optionalObject, optionalString } from './params.ts';
import { newSessionId } from './secrets.ts';

export type UiaFlows = readonly (readonly string[])[];

/** Operations on an existing account re-check the user's password. */
export const PASSWORD_FLOWS: UiaFlows = [['m.login.password']];

/**
 * Registration's flows, as Synapse builds them: `m.login.dummy` (open registration still goes
 * through UIA: "never succeed without auth"), and with email configured a flow proving an address;
 * `m.login.terms` and then `m.login.recaptcha` are put in front of each when configured.
 */
export const registrationFlows = (ctx: AccountsContext): UiaFlows => {
  const flows: string[][] = [['m.login.dummy']];
  if (ctx.threePids?.email !== undefined) flows.push([EMAIL_IDENTITY_STAGE]);
  for (const flow of flows) {
    if (ctx.registrationTerms !== undefined) flow.unshift('m.login.terms');
    if (ctx.registrationCaptcha !== undefined) flow.unshift('m.login.recaptcha');
  }
  return flows;
};

const DEFAULT_SESSION_LIFETIME_MS = 15 * 60_000;

/** Where a session keeps the flows it was offered. */
const FLOWS_KEY = 'flows';

const flowsOf = (session: UiaSession): UiaFlows => {
  const flows = session.data[FLOWS_KEY];
  return Array.isArray(flows) ? flows.filter((stages): stages is string[] => Array.isArray(stages) && stages.every((s) => typeof s === 'string')) : [];
};

/** Not an error of the request: the 401 that tells the client which stages to complete next. */
export class UiaChallenge extends Error {
  readonly status = 401;
  readonly body: JsonObject;

  constructor(body: JsonObject) {
    super(typeof body.error === 'string' ? body.error : 'Additional authentication required');
    this.name = 'UiaChallenge';
    this.body = body;
  }
}

export const isUiaChallenge = (error: unknown): error is UiaChallenge => error instanceof UiaChallenge;

export interface UiaRequest {
  /** The guarded request; its body's `auth` is the stage attempt. */
  readonly request: GuardedRequest;
  readonly flows: UiaFlows;
  /** The authenticated requester the stages must prove to be; absent for registration. */
  readonly userId?: string;
  /**
   * Whether the body's parameters are bound to the session too (always its method and path).
   * Registration is not: Synapse found clients (riot-ios, riot-android, Element Android) that send
   * `{}` first and the account's parameters later, and lets them change. Every operation on an
   * existing account is: a session the user completed to delete one device must not delete another.
   */
  readonly bindParams: boolean;
}

/** Left out of the comparison: clients may leave the password out of a retry (Synapse keeps it apart too). */
const UNBOUND_PARAMS = new Set(['auth', 'password', 'new_password']);

const operationOf = (request: UiaRequest): string => {
  const { method, uri, body } = request.request;
  if (!request.bindParams) return `${method} ${uri}`;
  const params: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(body)) if (!UNBOUND_PARAMS.has(key)) params[key] = value;
  const digest = createHash('sha256').update(canonicalJson(params, { strict: false }), 'utf8').digest('base64url');
  return `${method} ${uri} ${digest}`;
};

/**
 * Synapse's errcode and message for a session continued by another request; Synapse answers it
 * 403, but most of these endpoints document only 200 and 401, and a 401 with `errcode` is the
 * spec's way to say an attempt failed and may be made again: the answer is a challenge with a
 * fresh session, bound to the request as it is now.
 */
const operationChanged = (): MatrixError =>
  new MatrixError('M_UNKNOWN', 401, 'Requested operation has changed during the UI authentication session.');

/** What each offered stage tells the client (`params`), for the stages that need anything. */
const paramsOf = (ctx: AccountsContext, flows: UiaFlows): JsonObject => {
  const offered = new Set(flows.flat());
  const params: JsonObject = {};
  if (offered.has('m.login.recaptcha') && ctx.registrationCaptcha !== undefined) {
    params['m.login.recaptcha'] = { public_key: ctx.registrationCaptcha.publicKey };
  }
  if (offered.has('m.login.terms') && ctx.registrationTerms !== undefined) {
    const { version, name, url } = ctx.registrationTerms;
    params['m.login.terms'] = { policies: { privacy_policy: { version, en: { name, url: url() } } } };
  }
  return params;
};

const challenge = (ctx: AccountsContext, flows: UiaFlows, session: UiaSession, failure?: MatrixError): UiaChallenge => {
  const body: JsonObject = {
    flows: flows.map((stages) => ({ stages: [...stages] })),
    params: paramsOf(ctx, flows),
    session: session.sessionId,
  };
  if (session.completed.length > 0) body.completed = [...session.completed];
  if (failure !== undefined) {
    body.errcode = failure.errcode;
    body.error = failure.message;
  }
  return new UiaChallenge(body);
};

const flowComplete = (flows: UiaFlows, completed: readonly string[]): boolean =>
  flows.some((stages) => stages.every((stage) => completed.includes(stage)));

/** Whether `type` is the next stage of some flow whose earlier stages are exactly those completed. */
const isNextStage = (flows: UiaFlows, completed: readonly string[], type: string): boolean =>
  flows.some((stages) => completed.every((done, i) => stages[i] === done) && stages[completed.length] === type);

const sessionLifetime = (ctx: AccountsContext): number => ctx.uiaSessionLifetimeMs ?? DEFAULT_SESSION_LIFETIME_MS;

/** The live session a request names, or undefined (none named, unknown or expired). */
const findSession = async (ctx: AccountsContext, sessionId: string): Promise<UiaSession | undefined> => {
  const session = await ctx.store.getUiaSession(sessionId);
  return session !== undefined && session.createdTs + sessionLifetime(ctx) > ctx.clock.now() ? session : undefined;
};

const loadSession = async (ctx: AccountsContext, request: UiaRequest, sessionId: string): Promise<UiaSession> => {
  const session = await findSession(ctx, sessionId);
  // Another user's session is as unknown to this requester as one that never existed.
  if (session === undefined || (request.userId !== undefined && session.userId !== request.userId)) {
    throw new MatrixError('M_UNKNOWN', 400, `Unknown session ID: ${sessionId}`);
  }
  if (session.operation !== operationOf(request)) throw challenge(ctx, request.flows, await startSession(ctx, request), operationChanged());
  return session;
};

const startSession = async (ctx: AccountsContext, request: UiaRequest): Promise<UiaSession> => {
  const now = ctx.clock.now();
  await ctx.store.deleteExpiredUiaSessions(now - sessionLifetime(ctx));
  const session: UiaSession = {
    sessionId: newSessionId(ctx.random),
    operation: operationOf(request),
    ...(request.userId === undefined ? {} : { userId: request.userId }),
    completed: [],
    createdTs: now,
    // The fallback pages complete stages without the request: they check the order against these.
    data: { [FLOWS_KEY]: request.flows.map((stages) => [...stages]) },
  };
  await ctx.store.createUiaSession(session);
  return session;
};

/** Each context's failed password attempts, unless the composition root shares its own. */
const defaultFailedAttempts = new WeakMap<AccountsContext, FailedAttempts>();

const failedAttemptsOf = (ctx: AccountsContext): FailedAttempts => {
  if (ctx.failedPasswordAttempts !== undefined) return ctx.failedPasswordAttempts;
  let attempts = defaultFailedAttempts.get(ctx);
  if (attempts === undefined) defaultFailedAttempts.set(ctx, (attempts = createFailedAttempts(ctx.clock)));
  return attempts;
};

const passwordStage = async (ctx: AccountsContext, session: UiaSession, auth: JsonObject): Promise<StageOutcome> => {
  const password = optionalString(auth, 'password');
  if (password === undefined) return { ok: false, failure: new MatrixError('M_MISSING_PARAM', 400, "Missing 'password'") };
  const userId = await userIdFromIdentifier(ctx, auth);
  if (session.userId !== undefined && userId !== session.userId) {
    return { ok: false, failure: new MatrixError('M_FORBIDDEN', 403, 'Identifier does not match the requesting user') };
  }
  // As Synapse: too many failures are a 429 before the password is looked at, not a failed stage.
  const attempts = failedAttemptsOf(ctx);
  const key = userId ?? '';
  const retryAfterMs = attempts.retryAfterMs(key);
  if (retryAfterMs > 0) throw new MatrixError('M_LIMIT_EXCEEDED', 429, 'Too many failed attempts', { retry_after_ms: retryAfterMs });
  if (!(await checkPassword(ctx, userId, password))) {
    attempts.record(key);
    return { ok: false, failure: new MatrixError('M_FORBIDDEN', 403, 'Invalid password') };
  }
  return { ok: true, userId };
};

/** Synapse's checker: the response goes to siteverify with the client's IP; errcodes as Synapse's. */
const recaptchaStage = async (ctx: AccountsContext, auth: JsonObject, clientIp: string | undefined): Promise<StageOutcome> => {
  const captcha = ctx.registrationCaptcha;
  const response = optionalString(auth, 'response');
  if (captcha === undefined || response === undefined || response === '') {
    return { ok: false, failure: new MatrixError('M_CAPTCHA_NEEDED', 400, 'Captcha response is required') };
  }
  if (!(await captcha.verifier.verify(response, clientIp))) {
    return { ok: false, failure: new MatrixError('M_UNAUTHORIZED', 401, 'Captcha was not solved') };
  }
  return { ok: true, userId: undefined };
};

/** Runs one stage; returns the user it proved (password stages), or a failure to report. */
const attemptStage = async (
  ctx: AccountsContext,
  session: UiaSession,
  type: string,
  auth: JsonObject,
  clientIp: string | undefined,
): Promise<StageOutcome> => {
  switch (type) {
    case 'm.login.dummy':
      return { ok: true, userId: session.userId };
    // Submitting the stage is the acceptance of the policies `params` named (as Synapse's checker).
    case 'm.login.terms':
      return { ok: true, userId: session.userId };
    case 'm.login.password':
      return passwordStage(ctx, session, auth);
    case 'm.login.recaptcha':
      return recaptchaStage(ctx, auth, clientIp);
    case EMAIL_IDENTITY_STAGE:
      if (ctx.threePids !== undefined) return attemptEmailIdentityStage(ctx.threePids, session, auth, ctx.clock.now());
      break;
    default:
      break;
  }
  return { ok: false, failure: new MatrixError('M_UNRECOGNIZED', 400, `Unsupported auth type ${type}`) };
};

/** The session a request's `auth` names, if it names a live one (e.g. to read what a retry must repeat). */
export const namedUiaSession = async (ctx: AccountsContext, request: GuardedRequest): Promise<UiaSession | undefined> => {
  const auth = optionalObject(request.body, 'auth');
  const sessionId = auth === undefined ? undefined : optionalString(auth, 'session');
  return sessionId === undefined ? undefined : findSession(ctx, sessionId);
};

/**
 * Resolves when a flow is complete, with the session (the caller performs the operation, then
 * calls `finishUserInteractiveAuth`). Otherwise throws a UiaChallenge (a changed operation gets a
 * new session), or a MatrixError for a request that is wrong in itself (unknown session, 400).
 */
export const userInteractiveAuth = async (ctx: AccountsContext, request: UiaRequest): Promise<UiaSession> => {
  const auth = optionalObject(request.request.body, 'auth');
  const sessionId = auth === undefined ? undefined : optionalString(auth, 'session');
  let session = sessionId === undefined ? await startSession(ctx, request) : await loadSession(ctx, request, sessionId);
  const type = auth === undefined ? undefined : optionalString(auth, 'type');
  if (auth === undefined || type === undefined) {
    if (flowComplete(request.flows, session.completed)) return session;
    throw challenge(ctx, request.flows, session);
  }
  // Completed stages cannot be retried: a repeat is answered from the session as it stands.
  if (!session.completed.includes(type)) {
    if (!isNextStage(request.flows, session.completed, type)) {
      throw challenge(ctx, request.flows, session, new MatrixError('M_FORBIDDEN', 401, `${type} is not the next stage of any flow`));
    }
    const outcome = await attemptStage(ctx, session, type, auth, request.request.clientIp);
    if (!outcome.ok) throw challenge(ctx, request.flows, session, outcome.failure);
    session = { ...session, completed: [...session.completed, type], ...(outcome.userId === undefined ? {} : { userId: outcome.userId }) };
    await ctx.store.updateUiaSession(session.sessionId, session.completed, session.userId);
  }
  if (flowComplete(request.flows, session.completed)) return session;
  throw challenge(ctx, request.flows, session);
};

/**
 * The stages a web page can complete for a client that cannot (§ Fallback): the captcha and the
 * terms, the stages that need a browser or a policy to read.
 */
export const FALLBACK_STAGES: readonly string[] = ['m.login.recaptcha', 'm.login.terms'];

/** What a fallback page shows for a stage (its `params`), or undefined for a stage it cannot do here. */
export const fallbackStageParams = (ctx: AccountsContext, type: string): JsonObject | undefined => {
  if (!FALLBACK_STAGES.includes(type)) return undefined;
  const params = paramsOf(ctx, [[type]])[type];
  return params !== undefined && typeof params === 'object' && params !== null && !Array.isArray(params) ? params : undefined;
};

/**
 * Completes a stage out of band, from its fallback page (Synapse's `add_oob_auth`): the client then
 * retries its request with the session alone. A failed attempt is returned for the page to show
 * (the user may try again); an unknown session throws 400 M_UNKNOWN, a stage not next in its
 * session's flows 403 M_FORBIDDEN.
 */
export const completeFallbackStage = async (
  ctx: AccountsContext, sessionId: string, type: string, auth: JsonObject, clientIp: string | undefined,
): Promise<{ ok: true } | { ok: false; failure: MatrixError }> => {
  const session = await findSession(ctx, sessionId);
  if (session === undefined) throw new MatrixError('M_UNKNOWN', 400, `Unknown session ID: ${sessionId}`);
  if (session.completed.includes(type)) return { ok: true };
  if (!FALLBACK_STAGES.includes(type) || !isNextStage(flowsOf(session), session.completed, type)) {
    throw new MatrixError('M_FORBIDDEN', 403, `${type} is not the next stage of this session`);
  }
  const outcome = await attemptStage(ctx, session, type, auth, clientIp);
  if (!outcome.ok) return outcome;
  await ctx.store.updateUiaSession(session.sessionId, [...session.completed, type], session.userId);
  return { ok: true };
};

/**
 * A completed session authorises one operation on an account: it is deleted once the operation
 * succeeded, so a captured session id cannot repeat it.
 */
export const finishUserInteractiveAuth = (ctx: AccountsContext, session: UiaSession): Promise<void> =>
  ctx.store.deleteUiaSession(session.sessionId);

/** Keeps one value with the session, for retries of the operation it guards. */
export const setUiaSessionData = (ctx: AccountsContext, session: UiaSession, key: string, value: JsonValue): Promise<void> =>
  ctx.store.setUiaSessionData(session.sessionId, key, value);
