/**
 * Transactions to one destination (server-server-api.md § Transactions): at most 50 PDUs and 100
 * EDUs each, under an id unique per destination, sent one at a time. The queue here holds what
 * waits for the next one; it is bounded, since a destination slower than our traffic must not grow
 * memory: past the PDU bound the sender falls back to catch-up (the latest event per room, from
 * the database), past the EDU bound the oldest best-effort EDU is dropped.
 */
import type { Pdu } from '../../../events/index.ts';
import type { JsonObject } from '../../../json.ts';
import type { Edu } from '../../../ports/index.ts';

export const MAX_PDUS_PER_TRANSACTION = 50;
export const MAX_EDUS_PER_TRANSACTION = 100;

/** An event of ours waiting for a destination, with where it sits in the room log. */
export interface OutgoingPdu {
  readonly roomId: string;
  readonly eventId: string;
  readonly partition: number;
  readonly offset: number;
  readonly pdu: Pdu;
}

export interface OutgoingQueueBounds {
  /** PDUs held before `addPdu` refuses (the sender then catches up from the database). */
  readonly maxPdus: number;
  /** Best-effort EDUs held; beyond it the oldest are dropped. */
  readonly maxEdus: number;
}

export const DEFAULT_QUEUE_BOUNDS: OutgoingQueueBounds = { maxPdus: 5_000, maxEdus: 1_000 };

export class OutgoingQueue {
  readonly #bounds: OutgoingQueueBounds;
  #pdus: OutgoingPdu[] = [];
  #edus: Edu[] = [];

  constructor(bounds: OutgoingQueueBounds = DEFAULT_QUEUE_BOUNDS) {
    this.#bounds = bounds;
  }

  get pduCount(): number {
    return this.#pdus.length;
  }

  get eduCount(): number {
    return this.#edus.length;
  }

  /** Queues a PDU; false (and nothing queued) when the queue is full. */
  addPdu(pdu: OutgoingPdu): boolean {
    if (this.#pdus.length >= this.#bounds.maxPdus) return false;
    this.#pdus.push(pdu);
    return true;
  }

  /** Queues a best-effort EDU; answers how many old ones were dropped to make room. */
  addEdu(edu: Edu): number {
    this.#edus.push(edu);
    return this.#trimEdus();
  }

  /** Puts EDUs of a failed transaction back in front, as they were first in line; answers how many were dropped. */
  returnEdus(edus: readonly Edu[]): number {
    this.#edus = [...edus, ...this.#edus];
    return this.#trimEdus();
  }

  /** The oldest `limit` PDUs, in queue order (log order per room). */
  takePdus(limit = MAX_PDUS_PER_TRANSACTION): OutgoingPdu[] {
    return this.#pdus.splice(0, limit);
  }

  takeEdus(limit: number): Edu[] {
    return limit <= 0 ? [] : this.#edus.splice(0, limit);
  }

  /** Forgets every queued PDU (the database's catch-up rows stand for them). */
  clearPdus(): void {
    this.#pdus = [];
  }

  #trimEdus(): number {
    const excess = this.#edus.length - this.#bounds.maxEdus;
    if (excess <= 0) return 0;
    this.#edus.splice(0, excess);
    return excess;
  }
}

/** The body of `PUT /_matrix/federation/v1/send/{txnId}`. */
export const transactionBody = (origin: string, now: number, pdus: readonly Pdu[], edus: readonly Edu[]): JsonObject => ({
  origin,
  origin_server_ts: now,
  pdus: [...pdus],
  edus: edus.map((edu) => ({ edu_type: edu.edu_type, content: edu.content })),
});

/**
 * Transaction ids: the time this process started plus a counter, so ids never repeat for a
 * destination across restarts (a receiver answers a repeated id from its memory of the first).
 */
export const transactionIds = (startedAt: number): (() => string) => {
  let counter = 0;
  return () => `${startedAt}.${++counter}`;
};

/** The newest offset sent per room: what the destination now has of each room. */
export const latestPerRoom = (pdus: readonly OutgoingPdu[]): Map<string, OutgoingPdu> => {
  const latest = new Map<string, OutgoingPdu>();
  for (const pdu of pdus) {
    const known = latest.get(pdu.roomId);
    if (known === undefined || pdu.offset > known.offset) latest.set(pdu.roomId, pdu);
  }
  return latest;
};

/**
 * What an HTTP status answering a transaction means: delivered; retried after backoff (the server
 * is down, overloaded or asks us to slow down: 5xx, 408, 429); or refused for good (any other 4xx —
 * sending the same again would be refused again).
 */
export type TransactionOutcome = 'delivered' | 'retry' | 'refused';

export const outcomeOfStatus = (status: number): TransactionOutcome => {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429) return 'retry';
  if (status >= 400 && status < 500) return 'refused';
  return 'retry';
};
