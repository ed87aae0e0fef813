/**
 * What a log consumer's failure means, and how long to wait before trying again. Pure: the
 * supervisor (supervisor.ts) asks these functions and acts.
 *
 * Three kinds:
 * - transient: the world is briefly unavailable (a connection refused or cut, PostgreSQL shutting
 *   down or starting, a Kafka rebalance or broker restart, a lock or serialization conflict). The
 *   same record will apply once the dependency is back: retried without limit, with backoff.
 * - permanent: the record itself cannot be applied, and never will be (a gap or unknown record in
 *   the log contract, invalid data or SQL, a programming error such as a TypeError). Retrying only
 *   hides it: the consumer stops at once, naming the record.
 * - unknown: anything else. Retried a few times on the same record; still failing, it is poison.
 */

export type FailureKind = 'transient' | 'permanent' | 'unknown';

/** A violation of the room log contract (domain/room/records.ts): never retried. */
export class LogContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogContractError';
  }
}

/** Where a consumer failed: the record it could not get past. */
export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** A failure pinned to one record, with the original error as its cause. */
export class RecordFailure extends Error {
  readonly at: RecordPosition;
  constructor(at: RecordPosition, cause: unknown) {
    super(`${at.topic}/${at.partition}@${at.offset}: ${messageOf(cause)}`, { cause });
    this.name = 'RecordFailure';
    this.at = { topic: at.topic, partition: at.partition, offset: at.offset };
  }
}

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Node socket errors: the peer is down, restarting or unreachable. */
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_SOCKET_CLOSED',
]);

/**
 * PostgreSQL SQLSTATEs (Appendix A): class 08 connection exceptions, 53 insufficient resources,
 * 57P01–57P05 shutdowns and "cannot connect now", 40001/40P01 serialization and deadlock, 55P03
 * lock not available, 58000/58030 system and I/O errors.
 */
const transientSqlState = (code: string): boolean =>
  code.startsWith('08') || code.startsWith('53') || /^57P0[1-5]$/.test(code)
  || code === '40001' || code === '40P01' || code === '55P03' || code === '58000' || code === '58030';

/** 22 data exception, 23 integrity constraint violation, 42 syntax error or access rule violation. */
const permanentSqlState = (code: string): boolean => /^(22|23|42)[0-9A-Z]{3}$/.test(code);

/**
 * ClickHouse error codes: timeouts, network errors, too many queries, memory limits, readonly
 * replicas — and an unknown table or database (60, 81): a restarting ClickHouse answers queries
 * before it has loaded every table, and the projection created its tables at start, so a missing one
 * is the server's state, never the record's fault.
 */
const TRANSIENT_CLICKHOUSE_CODES = new Set([60, 81, 159, 160, 164, 202, 203, 209, 210, 241, 242, 252, 394, 425]);
/** ClickHouse: cannot parse input, unknown column, syntax error, type mismatch, bad arguments. */
const PERMANENT_CLICKHOUSE_CODES = new Set([6, 16, 26, 27, 36, 43, 44, 46, 47, 53, 62, 70, 117]);

/** Messages of clients that report a lost connection without a code (pg, undici, kafkajs). */
const TRANSIENT_MESSAGES = [
  /connection terminated/i, /terminating connection/i, /connection (?:is )?closed/i, /socket hang up/i,
  /client has encountered a connection error/i, /timeout exceeded when trying to connect/i, /connect(?:ion)? timeout/i,
  /^timeout error\.?$/i,
  /the database system is (?:starting up|shutting down|in recovery mode)/i, /other side closed/i,
];

interface ErrorFields {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly retriable?: unknown;
  readonly cause?: unknown;
  readonly originalError?: unknown;
}

/** The error and the errors it wraps (cause, kafkajs's originalError), outermost first. */
const chainOf = (error: unknown): ErrorFields[] => {
  const chain: ErrorFields[] = [];
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && chain.length < 8 && !chain.includes(current as ErrorFields)) {
    const fields = current as ErrorFields;
    chain.push(fields);
    current = fields.cause ?? fields.originalError;
  }
  return chain;
};

const kindOf = (error: ErrorFields): FailureKind => {
  const name = typeof error.name === 'string' ? error.name : '';
  const code = error.code;
  const message = typeof error.message === 'string' ? error.message : '';
  if (name === 'LogContractError') return 'permanent';
  // Waiting on another consumer that stopped: this one resumes once that one is repaired.
  if (name === 'ConsumerStoppedError') return 'transient';
  if (typeof code === 'string' && TRANSIENT_SYSTEM_CODES.has(code)) return 'transient';
  // pg's DatabaseError carries the SQLSTATE as a five-character code.
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    if (transientSqlState(code)) return 'transient';
    if (permanentSqlState(code)) return 'permanent';
  }
  if (name === 'ClickHouseQueryError' && typeof code === 'number') {
    if (TRANSIENT_CLICKHOUSE_CODES.has(code)) return 'transient';
    if (PERMANENT_CLICKHOUSE_CODES.has(code)) return 'permanent';
  }
  // kafkajs marks what its own retries may fix; connection and timeout errors are transient too.
  if (name.startsWith('KafkaJS')) {
    if (error.retriable === true || /Connection|Timeout|NumberOfRetriesExceeded|Rebalanc|Coordinator/.test(name)) return 'transient';
  }
  if (TRANSIENT_MESSAGES.some((pattern) => pattern.test(message))) return 'transient';
  if (name === 'TypeError' || name === 'RangeError' || name === 'SyntaxError' || name === 'ReferenceError') return 'permanent';
  return 'unknown';
};

/**
 * The kind of a failure. The first wrapped error that says something decides: a wrapper (a
 * RecordFailure, a ClickHouseQueryError around a refused socket) says less than what it wraps,
 * except that a transient cause anywhere wins over an unknown outer error.
 */
export const classifyFailure = (error: unknown): FailureKind => {
  let verdict: FailureKind = 'unknown';
  for (const link of chainOf(error)) {
    const kind = kindOf(link);
    if (kind === 'transient') return 'transient';
    if (kind === 'permanent' && verdict === 'unknown') verdict = 'permanent';
  }
  return verdict;
};

export interface RetryPolicy {
  /** First wait (default 100 ms). */
  readonly initialDelayMs: number;
  /** Longest wait (default 5 s): a dependency back after an outage is noticed within it. */
  readonly maxDelayMs: number;
  readonly factor: number;
  /** Attempts on the same record for a failure of unknown kind before it counts as poison. */
  readonly maxUnknownAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialDelayMs: 100, maxDelayMs: 5_000, factor: 2, maxUnknownAttempts: 5 };

/**
 * The wait before attempt `attempt + 1` (attempt counts failures so far, from 1): exponential,
 * capped, with up to a fifth taken off at random so consumers that failed together do not retry
 * together. `random` is Math.random's shape, injectable for tests.
 */
export const backoffDelay = (policy: RetryPolicy, attempt: number, random: () => number = Math.random): number => {
  const exponential = policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  return Math.round(capped * (1 - 0.2 * random()));
};

export type RetryDecision = { readonly retry: true; readonly delayMs: number } | { readonly retry: false };

/**
 * Whether to try again after the `attempt`-th consecutive failure (on the same record, when the
 * failure names one): transient always, unknown up to the policy's limit, permanent never.
 */
export const retryDecision = (
  policy: RetryPolicy, kind: FailureKind, attempt: number, random: () => number = Math.random,
): RetryDecision => {
  if (kind === 'permanent') return { retry: false };
  if (kind === 'unknown' && attempt >= policy.maxUnknownAttempts) return { retry: false };
  return { retry: true, delayMs: backoffDelay(policy, attempt, random) };
};
