/**
 * Authenticates inbound federation requests (server-server-api.md § Request Authentication): reads
 * the body through the shared body parser, checks the X-Matrix signature over method, target and
 * body with the origin's key (looked up through the injected key ring), and puts the authenticated
 * origin on `ctx.state.origin`. Mounted on the `/_matrix/federation/*` routes that need a signed
 * request (not `/version`, which the spec leaves unauthenticated).
 *
 * Answers as Synapse does (synapse/federation/transport/server/_base.py): 401 M_UNAUTHORIZED for a
 * missing header, an unknown key, a bad signature and — as the spec requires — a destination that
 * is not us; 400 M_UNAUTHORIZED for a malformed header; 403 M_FORBIDDEN for an origin the
 * federation whitelist leaves out.
 */
import {
  isJsonObject, MatrixError, readXMatrixClaim, verifyXMatrixRequest, type FederationKeyLookup, type JsonObject, type JsonValue, type XMatrixFailure,
} from '../../domain/index.ts';
import { readJsonBody, type RequestState, type StrataContext, type StrataMiddleware } from '../http/index.ts';

/** The state a federation route finds once the request is authenticated. */
export interface FederationRequestState extends RequestState {
  /** The server the request comes from, proven by its signature. */
  origin: string;
  /**
   * The body the signature covered, read once here (the request stream cannot be read twice);
   * routes take it through `signedContent`.
   */
  content?: JsonValue;
}

/**
 * A transaction carries up to 50 PDUs and 100 EDUs (§ Transactions), each up to 65,536 bytes:
 * about 10 MB at worst. Nothing else a server sends comes close.
 */
export const DEFAULT_FEDERATION_MAX_BODY_BYTES = 12 * 1024 * 1024;

export interface FederationAuthOptions {
  /** Our server name, which signed requests must name as their destination. */
  readonly serverName: string;
  /** The origin's public key (unpadded Base64) for a key id; undefined when it cannot be had. */
  readonly lookupKey: FederationKeyLookup;
  readonly maxBodyBytes?: number;
  /**
   * Whether we federate with an origin (Synapse's `federation_domain_whitelist`); every origin when
   * absent.
   */
  readonly originAllowed?: (origin: string) => boolean;
}

const STATUS: Record<XMatrixFailure['kind'], number> = {
  missing: 401,
  malformed: 400,
  wrongDestination: 401,
  unknownKey: 401,
  badSignature: 401,
};

const refusal = (failure: XMatrixFailure): MatrixError => new MatrixError('M_UNAUTHORIZED', STATUS[failure.kind], failure.message);

/** PUT and POST always carry a JSON object (§ API standards); other methods only when they send a body. */
const readContent = async (ctx: StrataContext, maxBytes: number): Promise<JsonValue | undefined> => {
  if (ctx.method === 'PUT' || ctx.method === 'POST') return readJsonBody(ctx, { maxBytes });
  const length = ctx.get('Content-Length');
  const hasBody = (length !== '' && length !== '0') || ctx.get('Transfer-Encoding') !== '';
  return hasBody ? readJsonBody(ctx, { maxBytes }) : undefined;
};

export const federationAuth = (options: FederationAuthOptions): StrataMiddleware => {
  const maxBytes = options.maxBodyBytes ?? DEFAULT_FEDERATION_MAX_BODY_BYTES;
  const isUs = (name: string) => name === options.serverName;
  return async (ctx, next) => {
    // Node keeps only the first of repeated Authorization headers in `headers`; each is a signature.
    const authorization = ctx.req.headersDistinct.authorization ?? [];
    // Headers first: a request that cannot be authenticated is refused before its body is read.
    const claim = readXMatrixClaim(authorization, isUs);
    if (!claim.ok) throw refusal(claim.error);
    // Like Synapse, an origin we do not federate with is refused before its signature is checked.
    if (options.originAllowed !== undefined && !options.originAllowed(claim.value.origin)) {
      throw new MatrixError('M_FORBIDDEN', 403, `Federation denied with ${claim.value.origin}.`);
    }
    const content = await readContent(ctx, maxBytes);
    const result = await verifyXMatrixRequest(
      {
        authorization,
        method: ctx.method,
        // The request target exactly as sent (path and query, undecoded), which is what was signed.
        uri: ctx.originalUrl,
        ...(content === undefined ? {} : { content }),
      },
      options.serverName,
      options.lookupKey,
      isUs,
    );
    if (!result.ok) throw refusal(result.error);
    const state = ctx.state as FederationRequestState;
    state.origin = result.value;
    if (content !== undefined) state.content = content;
    await next();
  };
};

/** The authenticated origin of a request that passed federationAuth. */
export const originOf = (ctx: StrataContext): string => {
  const origin = (ctx.state as Partial<FederationRequestState>).origin;
  if (origin === undefined) throw new MatrixError('M_UNAUTHORIZED', 401, 'Request is not authenticated');
  return origin;
};

/**
 * The JSON object body of an authenticated PUT or POST (federationAuth read it and refused any
 * other shape for these methods); `{}` for a bodyless request of another method.
 */
export const signedContent = (ctx: StrataContext): JsonObject => {
  originOf(ctx);
  const content = (ctx.state as Partial<FederationRequestState>).content;
  return isJsonObject(content) ? content : {};
};
