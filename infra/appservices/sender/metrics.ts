/**
 * The appservice sender's Prometheus metrics, per bridge (`appservice` is the registration's id):
 * transactions by result, events and ephemeral events delivered, what waits in the queue and how
 * old its oldest event is, and whether the bridge rests after failures.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Backlog } from './store.ts';

export type AppserviceTransactionResult = 'delivered' | 'unavailable' | 'refused';

export interface AppserviceSenderMetrics {
  transaction(appservice: string, result: AppserviceTransactionResult, events: number, ephemeral: number, toDevice: number): void;
  backlog(appservice: string, backlog: Backlog, now: number): void;
  backoff(appservice: string, resting: boolean): void;
}

export const createAppserviceSenderMetrics = (registry: Registry = new Registry()): AppserviceSenderMetrics => {
  const transactions = new Counter({
    name: 'strata_appservice_transactions_total',
    help: 'Transactions sent to application services, by result: delivered (2xx), unavailable (unreachable, timeout, 5xx, 408, 429) and refused (other 4xx); both failures are retried',
    labelNames: ['appservice', 'result'] as const,
    registers: [registry],
  });
  const events = new Counter({
    name: 'strata_appservice_events_sent_total', help: 'Room events in delivered application service transactions',
    labelNames: ['appservice'] as const, registers: [registry],
  });
  const ephemeral = new Counter({
    name: 'strata_appservice_ephemeral_sent_total', help: 'Ephemeral events (typing, receipts, presence) in delivered application service transactions',
    labelNames: ['appservice'] as const, registers: [registry],
  });
  const toDevice = new Counter({
    name: 'strata_appservice_to_device_sent_total', help: 'To-device messages in delivered application service transactions',
    labelNames: ['appservice'] as const, registers: [registry],
  });
  const queued = new Gauge({
    name: 'strata_appservice_queued_events', help: 'Room events queued for an application service, not yet acknowledged',
    labelNames: ['appservice'] as const, registers: [registry],
  });
  const lag = new Gauge({
    name: 'strata_appservice_lag_seconds', help: 'How long the oldest unacknowledged event has waited for an application service (0 when none waits)',
    labelNames: ['appservice'] as const, registers: [registry],
  });
  const resting = new Gauge({
    name: 'strata_appservice_in_backoff', help: '1 while an application service rests after failed transactions, else 0',
    labelNames: ['appservice'] as const, registers: [registry],
  });
  return {
    transaction: (appservice, result, eventCount, ephemeralCount, toDeviceCount) => {
      transactions.inc({ appservice, result });
      if (result !== 'delivered') return;
      events.inc({ appservice }, eventCount);
      ephemeral.inc({ appservice }, ephemeralCount);
      toDevice.inc({ appservice }, toDeviceCount);
    },
    backlog: (appservice, backlog, now) => {
      queued.set({ appservice }, backlog.events);
      lag.set({ appservice }, backlog.oldestQueuedAt === undefined ? 0 : Math.max(0, now - backlog.oldestQueuedAt) / 1000);
    },
    backoff: (appservice, isResting) => resting.set({ appservice }, isResting ? 1 : 0),
  };
};
