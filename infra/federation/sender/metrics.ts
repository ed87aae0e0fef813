/**
 * The federation sender's Prometheus metrics, registered on the process's registry
 * (infra/observability): transactions by result, PDUs and EDUs delivered, destinations resting in
 * backoff, and what waits in memory per destination (a label only while something waits, so idle
 * destinations leave no series behind).
 */
import { Counter, Gauge, Registry } from 'prom-client';

export type TransactionResultLabel = 'delivered' | 'retry' | 'refused';

export interface SenderMetrics {
  transaction(result: TransactionResultLabel, pdus: number, edus: number): void;
  droppedEdus(count: number): void;
  backoff(destinations: number): void;
  pending(destination: string, pdus: number, edus: number, catchingUp: boolean): void;
}

export const createSenderMetrics = (registry: Registry = new Registry()): SenderMetrics => {
  const transactions = new Counter({
    name: 'strata_federation_transactions_total',
    help: 'Federation transactions sent, by result: delivered, retry (failed, retried after backoff), refused (4xx, dropped)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const pdus = new Counter({ name: 'strata_federation_pdus_sent_total', help: 'PDUs in delivered federation transactions', registers: [registry] });
  const edus = new Counter({ name: 'strata_federation_edus_sent_total', help: 'EDUs in delivered federation transactions', registers: [registry] });
  const dropped = new Counter({
    name: 'strata_federation_edus_dropped_total', help: 'Best-effort EDUs dropped because a destination\'s queue was full', registers: [registry],
  });
  const inBackoff = new Gauge({
    name: 'strata_federation_destinations_in_backoff', help: 'Destinations resting after failed transactions', registers: [registry],
  });
  const pending = new Gauge({
    name: 'strata_federation_pending',
    help: 'What waits for a destination: PDUs and best-effort EDUs in memory, and catching_up (1 while its catch-up rows are being sent)',
    labelNames: ['destination', 'kind'] as const,
    registers: [registry],
  });
  return {
    transaction: (result, pduCount, eduCount) => {
      transactions.inc({ result });
      if (result !== 'delivered') return;
      pdus.inc(pduCount);
      edus.inc(eduCount);
    },
    droppedEdus: (count) => {
      if (count > 0) dropped.inc(count);
    },
    backoff: (destinations) => inBackoff.set(destinations),
    pending: (destination, pduCount, eduCount, catchingUp) => {
      if (pduCount === 0 && eduCount === 0 && !catchingUp) {
        for (const kind of ['pdus', 'edus', 'catching_up']) pending.remove({ destination, kind });
        return;
      }
      pending.set({ destination, kind: 'pdus' }, pduCount);
      pending.set({ destination, kind: 'edus' }, eduCount);
      pending.set({ destination, kind: 'catching_up' }, catchingUp ? 1 : 0);
    },
  };
};
