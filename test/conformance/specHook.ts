/**
 * The harness hook behind `STRATA_VALIDATE_SPEC=1`: test/harness/client.ts hands every response to
 * `recordSpecCheck`, which validates it against the spec's OpenAPI and appends each violation (a body
 * off its schema, a path the spec lacks, an error status the operation does not document) as one
 * JSON line to `STRATA_SPEC_VIOLATIONS` (default `<tmpdir>/strata-spec-violations.jsonl`). Recording
 * rather than failing lets the existing suites run to the end and list every violation at once;
 * `summarise.ts` groups the file by operation.
 */
import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ClientServerSpec, type Violation } from './openapi.ts';

export const violationsFile = (): string => process.env.STRATA_SPEC_VIOLATIONS ?? join(tmpdir(), 'strata-spec-violations.jsonl');

export interface RecordedViolation {
  readonly test: string | undefined;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** `file operationId`, or `unknown operation` for a path the spec does not define. */
  readonly operation: string;
  readonly documented: boolean;
  readonly violations: readonly Violation[];
}

let spec: ClientServerSpec | undefined;

/**
 * Errors any endpoint may answer (§ Common error codes, § Using access tokens, § Rate limiting, and
 * § Guest access: every endpoint outside the guests' list refuses them), which operations do not
 * list one by one; any other undocumented error status is recorded. 404 M_NOT_FOUND is § Common
 * error codes' "no resource was found for this request" (e.g. a media download of an unknown id,
 * which the content repository's operations leave out).
 */
const COMMON_ERRORS: ReadonlySet<string> = new Set([
  '401 M_MISSING_TOKEN', '401 M_UNKNOWN_TOKEN', '400 M_NOT_JSON', '400 M_BAD_JSON', '429 M_LIMIT_EXCEEDED', '403 M_GUEST_ACCESS_FORBIDDEN',
  '404 M_NOT_FOUND',
  // application-service-api.md: any request of a bridge naming a device its user lacks, or made
  // without one where a device is needed (§ Identity assertion); users or aliases outside the
  // bridge's namespaces, or in another's exclusive one (§ Server admin style permissions).
  '400 M_UNKNOWN_DEVICE', '400 M_EXCLUSIVE',
]);

const isUnrecognized = (status: number, body: unknown): boolean =>
  (status === 404 || status === 405) && typeof body === 'object' && body !== null && (body as Record<string, unknown>).errcode === 'M_UNRECOGNIZED';

/**
 * Requests Synapse serves beyond the spec's paths, each checked as the spec operation it mirrors:
 * the r0 and unstable prefixes of stable endpoints (Synapse's `client_patterns` registers both for
 * its v3 servlets), and POST /send without a transaction id (RoomSendEventRestServlet), whose answer
 * is PUT /send's. Anything the v3 twin does not define stays an unknown operation.
 */
export const specTwin = (method: string, path: string): { method: string; path: string } => {
  const [bare, query] = [path.split('?')[0]!, path.includes('?') ? path.slice(path.indexOf('?')) : ''];
  const stable = bare.replace(/^\/_matrix\/client\/(?:r0|unstable)\//, '/_matrix/client/v3/');
  if (method.toUpperCase() === 'POST' && /^\/_matrix\/client\/v3\/rooms\/[^/]+\/send\/[^/]+$/.test(stable)) {
    return { method: 'PUT', path: `${stable}/txn${query}` };
  }
  return { method, path: `${stable}${query}` };
};

/**
 * The global /events stream's chunk holds, as Synapse's event sources, presence, typing, receipts
 * and account data beside room events; old_sync.yaml types every item as a ClientEvent. Only room
 * events (those with an `event_id`) are held to it.
 */
const withoutStreamEdus = (operationId: string, body: unknown, violations: readonly Violation[]): Violation[] => {
  if (operationId !== 'getEvents') return [...violations];
  const chunk = typeof body === 'object' && body !== null ? (body as { chunk?: unknown }).chunk : undefined;
  if (!Array.isArray(chunk)) return [...violations];
  return violations.filter((violation) => {
    const index = /^body\.chunk\[(\d+)\]/.exec(violation.at)?.[1];
    const item: unknown = index === undefined ? undefined : chunk[Number(index)];
    return typeof item !== 'object' || item === null || 'event_id' in item;
  });
};

/** Validates one response; answers (and appends to the file) what was found, or undefined when it conforms. */
export const recordSpecCheck = (method: string, path: string, status: number, body: unknown): RecordedViolation | undefined => {
  spec ??= ClientServerSpec.load();
  const twin = specTwin(method, path);
  const checked = spec.checkResponse(twin.method, twin.path, status, body);
  const check = checked.operation === undefined ? checked
    : { ...checked, violations: withoutStreamEdus(checked.operation.operationId, body, checked.violations) };
  // Synapse's admin API (shared-secret registration) is not part of the Matrix spec; an unknown
  // endpoint answered with M_UNRECOGNIZED is the spec's answer (§ Common error codes).
  if (check.operation === undefined && (path.startsWith('/_synapse/') || isUnrecognized(status, body))) return undefined;
  const errcode = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).errcode : undefined;
  // A user-interactive auth challenge (401 with flows) is documented by § User-interactive authentication API.
  const challenge = status === 401 && typeof body === 'object' && body !== null && 'flows' in body;
  const undocumented = check.operation !== undefined && !check.documented && check.violations.length === 0 && status >= 400
    && !challenge && !COMMON_ERRORS.has(`${status} ${String(errcode)}`);
  if (check.operation !== undefined && check.violations.length === 0 && !undocumented) return undefined;
  let test: string | undefined;
  try {
    test = expect.getState().currentTestName;
  } catch {
    test = undefined;
  }
  const recorded: RecordedViolation = {
    test, method, path: path.split('?')[0]!, status,
    operation: check.operation === undefined ? 'unknown operation' : `${check.operation.file} ${check.operation.operationId}`,
    documented: check.documented,
    violations: check.operation === undefined ? [{ at: 'path', message: 'no operation of the spec matches' }]
      : undocumented ? [{ at: 'status', message: `${status} ${String(errcode)} is not a documented response (${[...check.operation.responses.keys()].join(', ')})` }]
        : check.violations,
  };
  appendFileSync(violationsFile(), `${JSON.stringify(recorded)}\n`);
  return recorded;
};
