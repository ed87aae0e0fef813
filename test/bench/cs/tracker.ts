/**
 * Bookkeeping for one rate step: when each message's send started and ended, and when each listener
 * of its room saw it. Pure (times are passed in), so the figures can be unit tested.
 */
import { summarize, type LatencySummary } from './stats.ts';

/** Content key that carries the benchmark's message id and wall-clock send time. */
export const BENCH_KEY = 'org.strata.bench';

export interface StepFigures {
  readonly sendOk: number;
  readonly sendFailed: number;
  /** Up to five distinct send error messages, with counts. */
  readonly sendErrors: readonly (readonly [string, number])[];
  /** Listener deliveries expected for the successful sends (sends × listeners of the room). */
  readonly expectedDeliveries: number;
  readonly deliveries: number;
  readonly lostDeliveries: number;
  /** Successful sends that every listener of the room saw. */
  readonly messagesDelivered: number;
  /** Deliveries of messages whose send reported an error (the server stored them anyway). */
  readonly deliveredAfterFailedSend: number;
  readonly sendLatency: LatencySummary;
  readonly deliveryLatency: LatencySummary;
}

export interface DeliveryTracker {
  readonly step: string;
  messageId(index: number): string;
  sendStarted(id: string, listeners: readonly number[], at: number): void;
  sendFinished(id: string, at: number, error?: string): void;
  /** Records that `listener` saw message `id` at `at`; false for an unknown id or a repeat. */
  delivered(id: string, listener: number, at: number): boolean;
  /** Deliveries still missing for sends that succeeded or are still in flight. */
  outstanding(): number;
  deliveries(): number;
  figures(): StepFigures;
  /** Every message in send order, times from the step's first send (for `--trace`). */
  timeline(): TimelineRow[];
}

/** One message's life: when its send began, how long it took, when its last listener saw it. */
export interface TimelineRow {
  readonly id: string;
  readonly startedMs: number;
  /** Undefined while no answer came. */
  readonly sendMs: number | undefined;
  readonly failed: boolean;
  readonly listeners: number;
  readonly delivered: number;
  /** From the send's start to the last delivery seen (undefined: none). */
  readonly lastDeliveryMs: number | undefined;
}

/** The CSV columns `--trace` writes, one row per message. */
export const TRACE_HEADER = 'server,rate,message,started_ms,send_ms,failed,listeners,delivered,last_delivery_ms';

export const traceLines = (server: string, rate: number, rows: readonly TimelineRow[]): string[] => {
  const ms = (value: number | undefined): string => (value === undefined ? '' : value.toFixed(1));
  // Labels are the user's own; a comma or quote in one is quoted as CSV wants.
  const label = /[",\n]/.test(server) ? `"${server.replaceAll('"', '""')}"` : server;
  return rows.map((row) =>
    [label, rate, row.id, ms(row.startedMs), ms(row.sendMs), row.failed ? 1 : 0, row.listeners, row.delivered, ms(row.lastDeliveryMs)].join(','));
};

interface Message {
  readonly startedAt: number;
  readonly listeners: readonly number[];
  sendMs?: number;
  error?: string;
  readonly seen: Map<number, number>;
}

export const createDeliveryTracker = (step: string): DeliveryTracker => {
  const messages = new Map<string, Message>();
  let deliveries = 0;
  return {
    step,
    messageId: (index) => `${step}.${index}`,
    sendStarted(id, listeners, at) {
      messages.set(id, { startedAt: at, listeners, seen: new Map() });
    },
    sendFinished(id, at, error) {
      const message = messages.get(id);
      if (message === undefined) return;
      message.sendMs = at - message.startedAt;
      if (error !== undefined) message.error = error;
    },
    delivered(id, listener, at) {
      const message = messages.get(id);
      if (message === undefined || message.seen.has(listener) || !message.listeners.includes(listener)) return false;
      message.seen.set(listener, at);
      deliveries += 1;
      return true;
    },
    outstanding() {
      let missing = 0;
      for (const m of messages.values()) if (m.error === undefined) missing += m.listeners.length - m.seen.size;
      return missing;
    },
    deliveries: () => deliveries,
    timeline() {
      // Messages are kept in send order: the first began the step (no spread over 100,000 sends).
      const all = [...messages.entries()];
      const start = all[0]?.[1].startedAt ?? 0;
      return all.map(([id, m]) => ({
        id,
        startedMs: m.startedAt - start,
        sendMs: m.sendMs,
        failed: m.error !== undefined,
        listeners: m.listeners.length,
        delivered: m.seen.size,
        lastDeliveryMs: m.seen.size === 0 ? undefined : Math.max(...m.seen.values()) - m.startedAt,
      }));
    },
    figures() {
      const sendMs: number[] = [];
      const deliveryMs: number[] = [];
      const errors = new Map<string, number>();
      let sendOk = 0;
      let expected = 0;
      let delivered = 0;
      let complete = 0;
      let afterFailure = 0;
      for (const m of messages.values()) {
        if (m.error !== undefined || m.sendMs === undefined) {
          const reason = m.error ?? 'no response before the step ended';
          errors.set(reason, (errors.get(reason) ?? 0) + 1);
          afterFailure += m.seen.size;
          continue;
        }
        sendOk += 1;
        sendMs.push(m.sendMs);
        expected += m.listeners.length;
        delivered += m.seen.size;
        if (m.seen.size === m.listeners.length) complete += 1;
        for (const at of m.seen.values()) deliveryMs.push(at - m.startedAt);
      }
      return {
        sendOk,
        sendFailed: messages.size - sendOk,
        sendErrors: [...errors].sort((a, b) => b[1] - a[1]).slice(0, 5),
        expectedDeliveries: expected,
        deliveries: delivered,
        lostDeliveries: expected - delivered,
        messagesDelivered: complete,
        deliveredAfterFailedSend: afterFailure,
        sendLatency: summarize(sendMs),
        deliveryLatency: summarize(deliveryMs),
      };
    },
  };
};

/** The benchmark id in a timeline event's content, if it is one of ours. */
export const benchMessageId = (event: unknown): string | undefined => {
  if (typeof event !== 'object' || event === null) return undefined;
  const content = (event as { content?: unknown }).content;
  if (typeof content !== 'object' || content === null) return undefined;
  const bench = (content as Record<string, unknown>)[BENCH_KEY];
  if (typeof bench !== 'object' || bench === null) return undefined;
  const id = (bench as Record<string, unknown>).id;
  return typeof id === 'string' ? id : undefined;
};

/** An m.text message whose body also names the id and send time, for anyone reading the room. */
export const benchMessageContent = (id: string, sentAtEpochMs: number): Record<string, unknown> => ({
  msgtype: 'm.text',
  body: `strata bench ${id} sent ${new Date(sentAtEpochMs).toISOString()}`,
  [BENCH_KEY]: { id, sent_at: sentAtEpochMs },
});
