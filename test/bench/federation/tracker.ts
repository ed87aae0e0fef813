/**
 * Bookkeeping for one federation run: when each message's PUT /send started and returned on the
 * sending server, and when each listener on the receiving server saw it in /sync. Pure (times are
 * passed in), so the figures can be unit tested.
 */
import { percentile } from '../cs/stats.ts';

export interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface RunFigures {
  readonly sendOk: number;
  readonly sendFailed: number;
  /** Up to five distinct send error kinds, with counts. */
  readonly sendErrors: readonly (readonly [string, number])[];
  /** Successful sends the receiving server served to at least one of its listeners. */
  readonly accepted: number;
  /** Successful sends never seen on the receiving server. */
  readonly lost: number;
  /** Successful sends not seen by every listener (some listener missed them). */
  readonly incomplete: number;
  /** accepted ÷ (first send started → last first arrival), per second. */
  readonly acceptedPerSecond: number;
  /** Per listener per message: arrival in /sync − the send's PUT returning. */
  readonly latency: Latency;
  /** Arrivals before the sender's PUT had returned (their latency samples are negative). */
  readonly beforeSendReturned: number;
  /** Median time of a successful PUT /send on the sending server. */
  readonly sendP50: number;
  /** Successful sends found in the receiver's /messages after the drain (undefined: not read). */
  readonly inHistory?: number;
}

interface Message {
  readonly startedAt: number;
  returnedAt?: number;
  error?: string;
  readonly seen: Map<number, number>;
}

export interface RunTracker {
  sendStarted(id: string, at: number): void;
  sendReturned(id: string, at: number, error?: string): void;
  /** false for an unknown id or a repeat. */
  seen(id: string, listener: number, at: number): boolean;
  /** Messages sent successfully (or still in flight) that some listener has not seen yet. */
  outstanding(): number;
  /** Distinct messages seen by at least one listener. */
  accepted(): number;
  /** The message ids the receiver's /messages held after the drain. */
  recordHistory(ids: ReadonlySet<string>): void;
  figures(): RunFigures;
}

export const summarizeLatency = (samples: readonly number[]): Latency => {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
  };
};

export const createRunTracker = (listeners: number): RunTracker => {
  const messages = new Map<string, Message>();
  let accepted = 0;
  let history: ReadonlySet<string> | undefined;
  return {
    sendStarted(id, at) {
      messages.set(id, { startedAt: at, seen: new Map() });
    },
    sendReturned(id, at, error) {
      const message = messages.get(id);
      if (message === undefined) return;
      message.returnedAt = at;
      if (error !== undefined) message.error = error;
    },
    seen(id, listener, at) {
      const message = messages.get(id);
      if (message === undefined || message.seen.has(listener) || listener < 0 || listener >= listeners) return false;
      if (message.seen.size === 0) accepted += 1;
      message.seen.set(listener, at);
      return true;
    },
    outstanding() {
      let missing = 0;
      for (const m of messages.values()) if (m.error === undefined) missing += listeners - m.seen.size;
      return missing;
    },
    accepted: () => accepted,
    recordHistory(ids) {
      history = ids;
    },
    figures() {
      const samples: number[] = [];
      const sendMs: number[] = [];
      const errors = new Map<string, number>();
      let sendOk = 0;
      let okAccepted = 0;
      let incomplete = 0;
      let early = 0;
      let inHistory = 0;
      let firstStart = Number.POSITIVE_INFINITY;
      let lastFirstArrival = Number.NEGATIVE_INFINITY;
      for (const [id, m] of messages) {
        firstStart = Math.min(firstStart, m.startedAt);
        if (m.error !== undefined || m.returnedAt === undefined) {
          const reason = m.error ?? 'no answer before the run ended';
          errors.set(reason, (errors.get(reason) ?? 0) + 1);
          continue;
        }
        sendOk += 1;
        sendMs.push(m.returnedAt - m.startedAt);
        if (history?.has(id) === true) inHistory += 1;
        if (m.seen.size > 0) {
          okAccepted += 1;
          lastFirstArrival = Math.max(lastFirstArrival, Math.min(...m.seen.values()));
        }
        if (m.seen.size < listeners) incomplete += 1;
        for (const at of m.seen.values()) {
          samples.push(at - m.returnedAt);
          if (at < m.returnedAt) early += 1;
        }
      }
      const spanMs = lastFirstArrival - firstStart;
      return {
        sendOk,
        sendFailed: messages.size - sendOk,
        sendErrors: [...errors].sort((a, b) => b[1] - a[1]).slice(0, 5),
        accepted: okAccepted,
        lost: sendOk - okAccepted,
        incomplete,
        acceptedPerSecond: okAccepted === 0 || spanMs <= 0 ? 0 : okAccepted / (spanMs / 1000),
        latency: summarizeLatency(samples),
        beforeSendReturned: early,
        sendP50: summarizeLatency(sendMs).p50,
        ...(history === undefined ? {} : { inHistory }),
      };
    },
  };
};
