/**
 * User-interactive authentication (client-server-api § User-Interactive Authentication API).
 * A guarded request without a complete flow answers 401 with `flows`, `params`, `session` and the
 * `completed` stages; a failed stage adds `errcode`/`error` to that same body. Stages of a flow
 * must be completed in order.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { UiaSession } from '../../ports/accounts.ts';
import type { AccountsContext, AuthDict } from './context.ts';
import { checkPassword, userIdFromIdentifier } from './identifier.ts';
import { optionalString } from './params.ts';
import { newSessionId } from './secrets.ts';

export type UiaFlows = readonly (readonly string[])[];

/** Open registration asks for nothing but still goes through UIA (spec: never succeed without auth). */
export const REGISTRATION_FLOWS: UiaFlows = [['m.login.dummy']];
/** Operations on an existing account re-check the user's password. */
export const PASSWORD_FLOWS: UiaFlows = [['m.login.password']];

const DEFAULT_SESSION_LIFETIME_MS = 15 * 60_000;

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
  /** Names the guarded operation; a session only ever authorises the operation it began with. */
  readonly operation: string;
  readonly flows: UiaFlows;
  readonly auth: AuthDict;
  /** The authenticated requester the stages must prove to be; absent for registration. */
  readonly userId?: string;
}

const challenge = (flows: UiaFlows, session: UiaSession, failure?: MatrixError): UiaChallenge => {
  const body: JsonObject = {
    flows: flows.map((stages) => ({ stages: [...stages] })),
    params: {},
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

const loadSession = async (ctx: AccountsContext, request: UiaRequest, sessionId: string): Promise<UiaSession> => {
  const session = await ctx.store.getUiaSession(sessionId);
  const lifetime = ctx.uiaSessionLifetimeMs ?? DEFAULT_SESSION_LIFETIME_MS;
  const usable =
    session !== undefined &&
    session.createdTs + lifetime > ctx.clock.now() &&
    session.operation === request.operation &&
    (request.userId === undefined || session.userId === request.userId);
  if (!usable) throw new MatrixError('M_UNKNOWN', 400, `Unknown session ID: ${sessionId}`);
  return session;
};

const startSession = async (ctx: AccountsContext, request: UiaRequest): Promise<UiaSession> => {
  const now = ctx.clock.now();
  await ctx.store.deleteExpiredUiaSessions(now - (ctx.uiaSessionLifetimeMs ?? DEFAULT_SESSION_LIFETIME_MS));
  const session: UiaSession = {
    sessionId: newSessionId(ctx.random),
    operation: request.operation,
    ...(request.userId === undefined ? {} : { userId: request.userId }),
    completed: [],
    createdTs: now,
  };
  await ctx.store.createUiaSession(session);
  return session;
};

/** Runs one stage; returns the user it proved (password stages), or a failure to report. */
const attemptStage = async (
  ctx: AccountsContext,
  session: UiaSession,
  type: string,
  auth: JsonObject,
): Promise<{ ok: true; userId: string | undefined } | { ok: false; failure: MatrixError }> => {
  if (type === 'm.login.dummy') return { ok: true, userId: session.userId };
  if (type === 'm.login.password') {
    const password = optionalString(auth, 'password');
    if (password === undefined) return { ok: false, failure: new MatrixError('M_MISSING_PARAM', 400, "Missing 'password'") };
    const userId = userIdFromIdentifier(auth, ctx.serverName);
    if (session.userId !== undefined && userId !== session.userId) {
      return { ok: false, failure: new MatrixError('M_FORBIDDEN', 403, 'Identifier does not match the requesting user') };
    }
    if (!(await checkPassword(ctx, userId, password))) {
      return { ok: false, failure: new MatrixError('M_FORBIDDEN', 403, 'Invalid password') };
    }
    return { ok: true, userId };
  }
  return { ok: false, failure: new MatrixError('M_UNRECOGNIZED', 400, `Unsupported auth type ${type}`) };
};

/**
 * Resolves when a flow is complete, with the session (the caller performs the operation, then
 * calls `finishUserInteractiveAuth`). Otherwise throws a UiaChallenge, or a MatrixError for a
 * request that is wrong in itself (unknown session).
 */
export const userInteractiveAuth = async (ctx: AccountsContext, request: UiaRequest): Promise<UiaSession> => {
  const auth = request.auth;
  const sessionId = auth === undefined ? undefined : optionalString(auth, 'session');
  let session = sessionId === undefined ? await startSession(ctx, request) : await loadSession(ctx, request, sessionId);
  const type = auth === undefined ? undefined : optionalString(auth, 'type');
  if (auth === undefined || type === undefined) {
    if (flowComplete(request.flows, session.completed)) return session;
    throw challenge(request.flows, session);
  }
  // Completed stages cannot be retried: a repeat is answered from the session as it stands.
  if (!session.completed.includes(type)) {
    if (!isNextStage(request.flows, session.completed, type)) {
      throw challenge(request.flows, session, new MatrixError('M_FORBIDDEN', 401, `${type} is not the next stage of any flow`));
    }
    const outcome = await attemptStage(ctx, session, type, auth);
    if (!outcome.ok) throw challenge(request.flows, session, outcome.failure);
    session = { ...session, completed: [...session.completed, type], ...(outcome.userId === undefined ? {} : { userId: outcome.userId }) };
    await ctx.store.updateUiaSession(session.sessionId, session.completed, session.userId);
  }
  if (flowComplete(request.flows, session.completed)) return session;
  throw challenge(request.flows, session);
};

/**
 * A completed session authorises one operation: it is deleted once the operation succeeded, so a
 * captured session id cannot repeat it.
 */
export const finishUserInteractiveAuth = (ctx: AccountsContext, session: UiaSession): Promise<void> =>
  ctx.store.deleteUiaSession(session.sessionId);
