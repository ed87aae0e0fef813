/**
 * One destination's queue: at most one transaction in flight, PDUs and EDUs batched as they wait,
 * backoff after a failure, and catch-up. A failed transaction puts the destination into catch-up:
 * its PDUs in memory are dropped (the catch-up rows stored before they were queued stand for them)
 * and, once the backoff has passed or the destination woke us, the latest event of each room it
 * lacks is sent from those rows (it fetches the rest itself), the rows going as they are
 * acknowledged; only then does it take PDUs in memory again. Durable EDUs are read from the
 * database for each transaction and deleted once it was acknowledged; best-effort ones wait in
 * memory, bounded.
 */
import {
  MAX_EDUS_PER_TRANSACTION, MAX_PDUS_PER_TRANSACTION, OutgoingQueue, backoffDelayMs, latestPerRoom, transactionBody,
  type BackoffSettings, type CatchUpMark, type OutgoingPdu, type OutgoingQueueBounds,
} from '../../../domain/app/federation/sender/index.ts';
import type { Edu, Pdu } from '../../../domain/index.ts';
import type { SenderMetrics } from './metrics.ts';
import type { SenderStore, StoredEdu } from './store.ts';
import type { SendTransaction } from './transport.ts';

export interface SenderLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface DestinationContext {
  readonly origin: string;
  readonly store: SenderStore;
  readonly send: SendTransaction;
  /** A catch-up row's event as the rooms read model holds it; undefined once it is gone for good. */
  loadEvent(mark: CatchUpMark): Promise<Pdu | undefined>;
  readonly backoff: BackoffSettings;
  readonly bounds: OutgoingQueueBounds;
  readonly metrics: SenderMetrics;
  readonly logger: SenderLogger;
  now(): number;
  nextTxnId(): string;
  /** The destination entered or left backoff. */
  onBackoffChanged(): void;
  /** Nothing waits and no failure is remembered: the destination may be forgotten. */
  onIdle(destination: Destination): void;
  /**
   * Resolves once this server can answer what a destination asks back (its listeners are bound):
   * a transaction sent before that makes the remote's /get_missing_events to us fail.
   */
  readonly ready: Promise<void>;
}

type Step = 'sent' | 'idle' | 'failed';

export class Destination {
  readonly name: string;
  readonly #ctx: DestinationContext;
  readonly #queue: OutgoingQueue;
  #catchingUp = false;
  /** Set when an event arrived while catching up: the rows read may not include it yet. */
  #catchUpDirty = false;
  #durablePending = false;
  #durableAdded = 0;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Something may be waiting that the running loop has not looked at. */
  #wanted = false;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(name: string, ctx: DestinationContext) {
    this.name = name;
    this.#ctx = ctx;
    this.#queue = new OutgoingQueue(ctx.bounds);
  }

  get inBackoff(): boolean {
    return this.#retryTimer !== undefined;
  }

  addPdu(pdu: OutgoingPdu): void {
    if (this.#catchingUp) this.#catchUpDirty = true;
    else if (!this.#queue.addPdu(pdu)) this.#startCatchUp();
    this.#kick();
  }

  addEdu(edu: Edu): void {
    this.#ctx.metrics.droppedEdus(this.#queue.addEdu(edu));
    this.#kick();
  }

  /** Durable EDUs for this destination were stored. */
  durableQueued(): void {
    this.#durablePending = true;
    this.#durableAdded++;
    this.#kick();
  }

  /** Catch-up rows for this destination were found (start-up). */
  catchUpPending(): void {
    this.#startCatchUp();
    this.#kick();
  }

  /** The destination is reachable (it contacted us): forget the backoff and send now. */
  wake(): void {
    this.#failures = 0;
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      this.#ctx.onBackoffChanged();
    }
    this.#kick();
  }

  /** Stops sending; resolves when the transaction in flight (if any) has ended. */
  stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    return this.#running ?? Promise.resolve();
  }

  #startCatchUp(): void {
    this.#catchingUp = true;
    this.#queue.clearPdus();
  }

  #reportPending(): void {
    this.#ctx.metrics.pending(this.name, this.#queue.pduCount, this.#queue.eduCount, this.#catchingUp);
  }

  #kick(): void {
    this.#wanted = true;
    this.#reportPending();
    if (this.#running !== undefined || this.#stopped || this.#retryTimer !== undefined) return;
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      this.#reportPending();
      const idle = !this.#catchingUp && !this.#durablePending && this.#failures === 0 && this.#retryTimer === undefined
        && this.#queue.pduCount === 0 && this.#queue.eduCount === 0;
      if (idle && !this.#stopped) this.#ctx.onIdle(this);
      // Work that arrived as the loop was ending (a kick then saw it running) is not left waiting.
      else if (this.#wanted) this.#kick();
    });
  }

  async #run(): Promise<void> {
    await this.#ctx.ready;
    while (this.#wanted && !this.#stopped && this.#retryTimer === undefined) {
      this.#wanted = false;
      for (;;) {
        if (this.#stopped) return;
        const step = await this.#sendNext();
        if (step === 'idle') break;
        if (step === 'failed') return;
      }
    }
  }

  /** Catch-up PDUs: the latest event of the rooms the destination lacks, oldest row first. */
  async #catchUpPdus(): Promise<OutgoingPdu[] | 'again'> {
    this.#catchUpDirty = false;
    const marks = await this.#ctx.store.catchUpRows(this.name, MAX_PDUS_PER_TRANSACTION);
    if (marks.length === 0) {
      if (this.#catchUpDirty) return 'again';
      this.#catchingUp = false;
      this.#ctx.logger.info({ destination: this.name }, 'federation destination caught up');
      return [];
    }
    const pdus: OutgoingPdu[] = [];
    const gone: CatchUpMark[] = [];
    for (const mark of marks) {
      const pdu = await this.#ctx.loadEvent(mark);
      if (pdu === undefined) gone.push(mark);
      else pdus.push({ roomId: mark.roomId, eventId: mark.eventId, partition: mark.partition, offset: mark.offset, pdu });
    }
    if (gone.length > 0) {
      // Purged from the read model (retention): nothing left to send for those rooms.
      this.#ctx.logger.warn({ destination: this.name, event_ids: gone.map((mark) => mark.eventId) }, 'catch-up events are gone; not sent');
      await this.#ctx.store.delivered(this.name, gone);
    }
    return pdus.length === 0 ? 'again' : pdus;
  }

  async #sendNext(): Promise<Step> {
    let pdus: OutgoingPdu[] = [];
    let durable: StoredEdu[] = [];
    let edus: Edu[] = [];
    try {
      if (this.#catchingUp) {
        const caughtUp = await this.#catchUpPdus();
        if (caughtUp === 'again') return 'sent';
        pdus = caughtUp;
      }
      if (!this.#catchingUp) pdus = this.#queue.takePdus(MAX_PDUS_PER_TRANSACTION);
      if (this.#durablePending) {
        const generation = this.#durableAdded;
        durable = await this.#ctx.store.durableEdus(this.name, MAX_EDUS_PER_TRANSACTION);
        // Fewer than asked and none stored since: these are all (a failure sets it again).
        if (durable.length < MAX_EDUS_PER_TRANSACTION && generation === this.#durableAdded) this.#durablePending = false;
      }
      edus = this.#queue.takeEdus(MAX_EDUS_PER_TRANSACTION - durable.length);
      if (pdus.length === 0 && durable.length === 0 && edus.length === 0) return 'idle';
      this.#reportPending();
      const txnId = this.#ctx.nextTxnId();
      const body = transactionBody(this.#ctx.origin, this.#ctx.now(), pdus.map((p) => p.pdu), [...durable.map((d) => d.edu), ...edus]);
      const result = await this.#ctx.send(this.name, txnId, body);
      this.#ctx.metrics.transaction(result.outcome, pdus.length, durable.length + edus.length);
      if (result.outcome === 'retry') {
        this.#failed(result.error, txnId, edus, durable);
        return 'failed';
      }
      if (result.outcome === 'refused') {
        // Sending the same again would be refused again: the transaction's content is given up.
        this.#ctx.logger.warn({ destination: this.name, txn_id: txnId, pdus: pdus.length, edus: durable.length + edus.length, err: result.error },
          'federation transaction refused; not retried');
      } else if (result.pduErrors.size > 0) {
        this.#ctx.logger.warn({ destination: this.name, txn_id: txnId, errors: Object.fromEntries([...result.pduErrors].slice(0, 10)) },
          'destination refused events of a transaction');
      }
      this.#failures = 0;
      const rooms = [...latestPerRoom(pdus).values()].map((pdu) => ({ roomId: pdu.roomId, offset: pdu.offset }));
      await this.#ctx.store.delivered(this.name, rooms);
      await this.#ctx.store.deleteDurableEdus(durable.map((d) => d.id));
      return 'sent';
    } catch (error) {
      // Our own side failed (the database): rest as after a failed transaction, nothing is lost.
      if (this.#stopped) return 'failed';
      this.#failed(error, undefined, edus, durable);
      return 'failed';
    }
  }

  #failed(error: unknown, txnId: string | undefined, edus: readonly Edu[], durable: readonly StoredEdu[]): void {
    this.#failures++;
    this.#startCatchUp();
    this.#ctx.metrics.droppedEdus(this.#queue.returnEdus(edus));
    if (durable.length > 0) this.#durablePending = true;
    if (this.#stopped) return;
    const delayMs = backoffDelayMs(this.#failures, this.#ctx.backoff);
    this.#ctx.logger.warn({ destination: this.name, txn_id: txnId, failures: this.#failures, retry_in_ms: delayMs, err: error },
      'federation transaction failed; the destination rests, then catches up');
    const timer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#ctx.onBackoffChanged();
      this.#kick();
    }, delayMs);
    timer.unref();
    this.#retryTimer = timer;
    this.#ctx.onBackoffChanged();
    this.#reportPending();
  }
}
