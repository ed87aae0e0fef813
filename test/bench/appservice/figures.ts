/** What one load step of `npm run bench appservice` measured, from its sends and the bridge's arrivals. */
import { percentile } from '../cs/stats.ts';

export interface SendRecord {
  readonly roomId: string;
  /** `performance.now()` when the PUT /send started. */
  readonly startedAt: number;
  /** When it answered 200 (absent: skipped at the in-flight cap, or failed). */
  returnedAt?: number;
  eventId?: string;
  skipped?: boolean;
  error?: string;
}

export interface Arrival {
  readonly eventId: string;
  readonly roomId: string;
  readonly txnId: string;
  readonly receivedAt: number;
}

export interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface StepFigures {
  readonly rate: number;
  readonly sent: number;
  readonly skipped: number;
  readonly failed: number;
  readonly delivered: number;
  /** Sent, never delivered within the drain. */
  readonly missing: number;
  /** Deliveries beyond the first of an event (the bridge already drops repeated txnIds). */
  readonly duplicates: number;
  /** Events delivered before one whose PUT had returned before theirs started, in the same room. */
  readonly outOfOrder: number;
  /** Delivered events ÷ (last delivery − first send). */
  readonly eventsPerSecond: number;
  /** Delivery − start of its PUT /send. */
  readonly latency: Latency;
  readonly putP50: number;
  readonly transactions: number;
  /** Events per transaction, counting every event of those transactions. */
  readonly eventsPerTransaction: number;
  readonly firstError?: string;
}

export const latencyOf = (samples: readonly number[]): Latency => {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
  };
};

/** Counts sends delivered out of the order their PUTs fixed (A returned before B started → A first). */
export const outOfOrder = (sends: readonly SendRecord[], position: ReadonlyMap<string, number>): number => {
  let count = 0;
  const rooms = new Map<string, SendRecord[]>();
  for (const send of sends) {
    if (send.eventId === undefined || send.returnedAt === undefined || !position.has(send.eventId)) continue;
    rooms.set(send.roomId, [...(rooms.get(send.roomId) ?? []), send]);
  }
  for (const list of rooms.values()) {
    const byStart = [...list].sort((a, b) => a.startedAt - b.startedAt);
    const byReturn = [...list].sort((a, b) => a.returnedAt! - b.returnedAt!);
    let settled = 0;
    let latest = -1;
    for (const send of byStart) {
      while (settled < byReturn.length && byReturn[settled]!.returnedAt! < send.startedAt) {
        latest = Math.max(latest, position.get(byReturn[settled]!.eventId!)!);
        settled += 1;
      }
      if (position.get(send.eventId!)! < latest) count += 1;
    }
  }
  return count;
};

/**
 * `arrivals`: every event the bridge received during the step, in arrival order; `txnSizes`: the
 * number of events in each transaction the bridge received.
 */
export const stepFigures = (rate: number, sends: readonly SendRecord[], arrivals: readonly Arrival[], txnSizes: ReadonlyMap<string, number>): StepFigures => {
  const sent = sends.filter((send) => send.eventId !== undefined);
  const first = new Map<string, Arrival>();
  const position = new Map<string, number>();
  arrivals.forEach((arrival, index) => {
    if (first.has(arrival.eventId)) return;
    first.set(arrival.eventId, arrival);
    position.set(arrival.eventId, index);
  });
  const delivered = sent.filter((send) => first.has(send.eventId!));
  const sentIds = new Set(sent.map((send) => send.eventId!));
  const latencies = delivered.map((send) => first.get(send.eventId!)!.receivedAt - send.startedAt);
  const firstSend = Math.min(...sent.map((send) => send.startedAt));
  const lastDelivery = Math.max(...delivered.map((send) => first.get(send.eventId!)!.receivedAt));
  const txns = new Set(delivered.map((send) => first.get(send.eventId!)!.txnId));
  const txnEvents = [...txns].reduce((sum, txnId) => sum + (txnSizes.get(txnId) ?? 0), 0);
  const failures = sends.filter((send) => send.error !== undefined);
  return {
    rate,
    sent: sent.length,
    skipped: sends.filter((send) => send.skipped === true).length,
    failed: failures.length,
    delivered: delivered.length,
    missing: sent.length - delivered.length,
    duplicates: arrivals.filter((arrival) => sentIds.has(arrival.eventId)).length - delivered.length,
    outOfOrder: outOfOrder(sent, position),
    eventsPerSecond: delivered.length === 0 ? 0 : delivered.length / ((lastDelivery - firstSend) / 1000),
    latency: latencyOf(latencies),
    putP50: latencyOf(sent.map((send) => send.returnedAt! - send.startedAt)).p50,
    transactions: txns.size,
    eventsPerTransaction: txns.size === 0 ? Number.NaN : txnEvents / txns.size,
    ...(failures[0]?.error === undefined ? {} : { firstError: failures[0].error }),
  };
};
