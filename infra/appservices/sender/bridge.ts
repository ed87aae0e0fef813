/**
 * One bridge's queue worker: at most one transaction in flight, read from the database one
 * transaction's worth at a time (so a dead bridge's backlog stays on disk, not in memory), sent
 * until the bridge acknowledges it. A failure of any kind — unreachable, timeout, 5xx, other 4xx,
 * our own database — rests the bridge (the backoff doubles per failure) and the same transaction
 * (same id, same contents) is sent again after the rest; nothing is ever dropped (Synapse's
 * recoverer). A bridge's rest or hang holds up only its own worker.
 */
import { backoffDelayMs, type BackoffSettings } from '../../../domain/app/federation/sender/index.ts';
import {
  MAX_EVENTS_PER_TRANSACTION, transactionBody, type DeviceKeyCounts, type TransactionExtras,
} from '../../../domain/app/appservices/sender/index.ts';
import type { AppserviceClient, AppserviceRegistration, JsonObject } from '../../../domain/index.ts';
import { AppserviceRequestError } from '../../../domain/ports/index.ts';
import type { AppserviceSenderMetrics, AppserviceTransactionResult } from './metrics.ts';
import type { AppserviceSenderStore, QueuedEvent, StoredTransaction, StreamPositions } from './store.ts';

export interface BridgeLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface BridgeContext {
  readonly store: AppserviceSenderStore;
  readonly client: Pick<AppserviceClient, 'sendTransaction'>;
  readonly metrics: AppserviceSenderMetrics;
  readonly logger: BridgeLogger;
  readonly backoff: BackoffSettings;
  readonly transactionTimeoutMs: number;
  now(): number;
  /** The queued events in the client format, as the bridge gets them now (an event gone for good is left out). */
  loadEvents(registration: AppserviceRegistration, events: readonly QueuedEvent[]): Promise<JsonObject[]>;
  /** Resolves once this server can answer what a bridge asks back (its listeners are bound). */
  readonly ready: Promise<void>;
  /** The ephemeral data and to-device messages new since `streams`, and the positions they reach. */
  extras(registration: AppserviceRegistration, streams: StreamPositions): Promise<{ extras: TransactionExtras; streams: StreamPositions }>;
  /** MSC3202 key counts for a transaction about to be sent (undefined for other bridges): counted at each attempt, so they are current. */
  deviceKeys(registration: AppserviceRegistration, events: readonly JsonObject[], extras: TransactionExtras): Promise<DeviceKeyCounts | undefined>;
}

type Step = 'sent' | 'idle' | 'failed';

/** A failure as /metrics tells it: an error status other than 5xx, 408 and 429 is 'refused' (retried all the same). */
const resultOf = (error: unknown): AppserviceTransactionResult => {
  if (!(error instanceof AppserviceRequestError) || error.failure.kind !== 'status') return 'unavailable';
  const { status } = error.failure;
  return status >= 500 || status === 408 || status === 429 ? 'unavailable' : 'refused';
};

export class Bridge {
  readonly registration: AppserviceRegistration;
  readonly #ctx: BridgeContext;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #wanted = false;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(registration: AppserviceRegistration, ctx: BridgeContext) {
    this.registration = registration;
    this.#ctx = ctx;
  }

  get id(): string {
    return this.registration.id;
  }

  get inBackoff(): boolean {
    return this.#retryTimer !== undefined;
  }

  /** Something may wait for the bridge (queued events, ephemeral data): send it unless the bridge rests. */
  wake(): void {
    this.#wanted = true;
    if (this.#running !== undefined || this.#stopped || this.#retryTimer !== undefined) return;
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      // Work that arrived as the loop was ending (a wake then saw it running) is not left waiting.
      if (this.#wanted && !this.#stopped && this.#retryTimer === undefined) this.wake();
    });
  }

  /** The bridge is reachable (it answered a ping): its rest ends and what waits is sent now (Synapse's force_retry). */
  retryNow(): void {
    this.#failures = 0;
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      this.#ctx.metrics.backoff(this.id, false);
    }
    this.wake();
  }

  /** Stops sending; resolves when the transaction in flight (if any) has ended. */
  stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    return this.#running ?? Promise.resolve();
  }

  async refreshBacklog(): Promise<void> {
    this.#ctx.metrics.backlog(this.id, await this.#ctx.store.backlog(this.id), this.#ctx.now());
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

  /** The transaction in flight (after a failure or a restart), else a new one from the queue. */
  async #nextTransaction(): Promise<StoredTransaction | undefined> {
    const current = await this.#ctx.store.currentTransaction(this.id);
    if (current !== undefined) return current;
    const streams = await this.#ctx.store.streams(this.id);
    const next = await this.#ctx.extras(this.registration, streams);
    return this.#ctx.store.assignTransaction(this.id, MAX_EVENTS_PER_TRANSACTION, next.extras, { ...streams, ...next.streams });
  }

  async #sendNext(): Promise<Step> {
    let transaction: StoredTransaction | undefined;
    try {
      transaction = await this.#nextTransaction();
      if (transaction === undefined) {
        await this.refreshBacklog();
        return 'idle';
      }
      const events = await this.#ctx.loadEvents(this.registration, transaction.events);
      const keys = await this.#ctx.deviceKeys(this.registration, events, transaction.extras);
      const body = transactionBody(this.registration, events, transaction.extras, keys);
      await this.#ctx.client.sendTransaction(this.registration, String(transaction.txnId), body, { timeoutMs: this.#ctx.transactionTimeoutMs });
      await this.#ctx.store.delivered(this.id, transaction.txnId);
      this.#ctx.metrics.transaction(this.id, 'delivered', events.length, transaction.extras.ephemeral.length, transaction.extras.toDevice.length);
      if (this.#failures > 0) this.#ctx.logger.info({ appservice: this.id, txn_id: transaction.txnId }, 'application service answers again');
      this.#failures = 0;
      // The backlog is counted when the queue runs dry and every few seconds (the sender's timer),
      // not per transaction: counting a long backlog after each one would cost more than sending it.
      return 'sent';
    } catch (error) {
      if (this.#stopped) return 'failed';
      if (transaction !== undefined) this.#ctx.metrics.transaction(this.id, resultOf(error), 0, 0, 0);
      this.#rest(error, transaction?.txnId);
      return 'failed';
    }
  }

  #rest(error: unknown, txnId: number | undefined): void {
    this.#failures++;
    const delayMs = backoffDelayMs(this.#failures, this.#ctx.backoff);
    this.#ctx.logger.warn({ appservice: this.id, txn_id: txnId, failures: this.#failures, retry_in_ms: delayMs, err: error },
      'application service transaction failed; the same transaction is retried after a rest');
    const timer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#ctx.metrics.backoff(this.id, false);
      this.wake();
    }, delayMs);
    timer.unref();
    this.#retryTimer = timer;
    this.#ctx.metrics.backoff(this.id, true);
    void this.refreshBacklog().catch(() => undefined);
  }
}
