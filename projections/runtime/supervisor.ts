/**
 * One supervisor for every log consumer of a process (projections, senders). A consumer reports
 * each failure here and is told what to do: transient failures are retried with exponential
 * backoff for as long as they last; a poison record (a permanent failure, or one of unknown kind
 * that keeps failing on the same record) stops that consumer alone. The supervisor keeps each
 * consumer's status for /health and /metrics, logs a stop with the record's topic, partition and
 * offset, and lets requests that wait on a stopped consumer fail at once (ConsumerStoppedError).
 */
import { MatrixError } from '../../domain/index.ts';
import {
  DEFAULT_RETRY_POLICY, RecordFailure, classifyFailure, messageOf, retryDecision,
  type FailureKind, type RecordPosition, type RetryPolicy,
} from './failures.ts';
import { silentLogger, type ProjectionLogger } from './projection.ts';

/** running: consuming; retrying: waiting to try again after a failure; stopped: on a poison record; closed: shut down. */
export type ConsumerState = 'running' | 'retrying' | 'stopped' | 'closed';

export interface ConsumerStatus {
  readonly name: string;
  readonly state: ConsumerState;
  /** Failures retried since the process started. */
  readonly retries: number;
  /** The last failure (while retrying, and once stopped). */
  readonly error?: string;
  readonly kind?: FailureKind;
  /** The record the last failure is pinned to, when it names one. */
  readonly at?: RecordPosition;
  /** When the consumer entered its state (ms since the epoch). */
  readonly since: number;
}

/**
 * What a request waiting on a stopped consumer gets: a 503 naming the consumer and the record, so
 * a client retries later and an operator knows where to look.
 */
export class ConsumerStoppedError extends MatrixError {
  readonly consumer: string;
  readonly at: RecordPosition | undefined;
  constructor(consumer: string, at: RecordPosition | undefined, cause: unknown) {
    const where = at === undefined ? '' : ` at ${at.topic} partition ${at.partition} offset ${at.offset}`;
    super('M_UNKNOWN', 503, `The ${consumer} consumer stopped${where}: ${messageOf(cause)}. This server cannot answer `
      + 'this request until an operator repairs it.');
    this.name = 'ConsumerStoppedError';
    this.consumer = consumer;
    this.at = at;
    this.cause = cause;
  }
}

export interface SupervisorMetrics {
  onConsumerState(consumer: string, state: ConsumerState, at: RecordPosition | undefined): void;
  onConsumerRetry(consumer: string, kind: FailureKind): void;
}

export type RetryVerdict = { readonly retry: true; readonly delayMs: number } | { readonly retry: false; readonly error: ConsumerStoppedError };

/** The handle a consumer reports through. */
export interface ConsumerSupervision {
  readonly name: string;
  /** Subscribed again after a failure, or a batch applied: consuming normally. */
  running(): void;
  /** A batch applied: the next failure counts from its first attempt again. */
  progressed(): void;
  /** Reports a failure; answers whether to retry (after the delay) or stop with the given error. */
  failed(error: unknown): RetryVerdict;
  /** Stopped on request (shutdown): reported as closed, never as a failure. */
  closed(): void;
}

export interface Supervisor {
  register(name: string): ConsumerSupervision;
  statuses(): readonly ConsumerStatus[];
  /** The error of a consumer stopped on a poison record; undefined while it runs or retries. */
  stopped(name: string): ConsumerStoppedError | undefined;
  /** Calls `listener` when `name` stops on a poison record (at once if it already has); returns the unsubscribe. */
  onStopped(name: string, listener: (error: ConsumerStoppedError) => void): () => void;
}

export interface SupervisorOptions {
  readonly logger?: ProjectionLogger;
  readonly metrics?: SupervisorMetrics;
  readonly policy?: Partial<RetryPolicy>;
  readonly now?: () => number;
  readonly random?: () => number;
}

interface Entry {
  status: ConsumerStatus;
  /**
   * Consecutive failures without progress, per record they were pinned to (per partition, in
   * effect: a partition is stuck on one record), so partitions failing in turn each reach the limit.
   */
  readonly attempts: Map<string, number>;
  /** Failures naming no record since the consumer last ran (joined with its positions loaded, or applied a batch). */
  outage: number;
  stoppedError: ConsumerStoppedError | undefined;
  readonly listeners: Set<(error: ConsumerStoppedError) => void>;
}

const keyOf = (at: RecordPosition | undefined): string | undefined =>
  at === undefined ? undefined : `${at.topic}/${at.partition}@${at.offset}`;

export const createSupervisor = (options: SupervisorOptions = {}): Supervisor => {
  const logger = options.logger ?? silentLogger;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();

  const move = (entry: Entry, patch: Partial<ConsumerStatus> & { state: ConsumerState }): void => {
    const changed = entry.status.state !== patch.state;
    entry.status = { ...entry.status, ...patch, ...(changed ? { since: now() } : {}) };
    if (changed) options.metrics?.onConsumerState(entry.status.name, patch.state, entry.status.at);
  };

  const register = (name: string): ConsumerSupervision => {
    const known = entries.get(name);
    if (known !== undefined && known.status.state !== 'closed') throw new Error(`supervisor: a consumer named ${name} is already running`);
    const entry: Entry = {
      status: { name, state: 'running', retries: 0, since: now() },
      attempts: new Map(), outage: 0, stoppedError: undefined, listeners: new Set(),
    };
    entries.set(name, entry);
    options.metrics?.onConsumerState(name, 'running', undefined);
    const recovered = (): void => {
      entry.outage = 0;
      if (entry.status.state !== 'retrying') return;
      logger.info({ consumer: name, retries: entry.status.retries }, 'consumer recovered');
      const { error: _error, kind: _kind, at: _at, ...rest } = entry.status;
      entry.status = rest;
      move(entry, { state: 'running' });
    };
    return {
      name,
      running: recovered,
      progressed: () => {
        entry.attempts.clear();
        recovered();
      },
      failed: (error) => {
        const at = error instanceof RecordFailure ? error.at : undefined;
        const key = keyOf(at);
        // A failure that names no record (the infrastructure's: a database or broker down) backs
        // off by the outage's length, so a long one is not a storm of group joins.
        const attempt = key === undefined ? ++entry.outage : (entry.attempts.get(key) ?? 0) + 1;
        if (key !== undefined) entry.attempts.set(key, attempt);
        const kind = classifyFailure(error);
        // Only a record can be poison: a failure that names none (joining the group, loading
        // positions) is the infrastructure's, and is retried unless it is a programming error.
        const decision = retryDecision(policy, at === undefined && kind === 'unknown' ? 'transient' : kind, attempt, options.random);
        const fields = {
          consumer: name, kind, attempt, err: error,
          ...(at === undefined ? {} : { topic: at.topic, partition: at.partition, offset: at.offset }),
        };
        if (decision.retry) {
          logger.warn({ ...fields, retry_in_ms: decision.delayMs }, 'consumer failed; retrying');
          options.metrics?.onConsumerRetry(name, kind);
          move(entry, { state: 'retrying', retries: entry.status.retries + 1, error: messageOf(error), kind, ...(at === undefined ? {} : { at }) });
          return decision;
        }
        const stopped = new ConsumerStoppedError(name, at, error instanceof RecordFailure ? error.cause : error);
        (logger.error ?? logger.warn).call(logger, fields,
          `consumer ${name} stopped on a poison record${at === undefined ? '' : ` at ${at.topic}/${at.partition}@${at.offset}`}`);
        entry.stoppedError = stopped;
        move(entry, { state: 'stopped', error: messageOf(stopped.cause), kind, ...(at === undefined ? {} : { at }) });
        for (const listener of entry.listeners) listener(stopped);
        entry.listeners.clear();
        return { retry: false, error: stopped };
      },
      closed: () => {
        if (entry.status.state === 'stopped') return;
        move(entry, { state: 'closed' });
      },
    };
  };

  return {
    register,
    statuses: () => [...entries.values()].map((entry) => entry.status),
    stopped: (name) => entries.get(name)?.stoppedError,
    onStopped: (name, listener) => {
      const entry = entries.get(name);
      if (entry === undefined) throw new Error(`supervisor: no consumer named ${name}`);
      if (entry.stoppedError !== undefined) {
        listener(entry.stoppedError);
        return () => undefined;
      }
      entry.listeners.add(listener);
      return () => entry.listeners.delete(listener);
    },
  };
};
