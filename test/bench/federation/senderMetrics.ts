/**
 * What a Strata sender's federation sender did, read from its Prometheus `/metrics` listener:
 * delivered transactions and PDUs (so PDUs per transaction), failed ones, and the PDUs still waiting
 * in memory for a destination. Synapse has no such listener here, so its side stays unmeasured.
 */
export interface SenderCounters {
  readonly delivered: number;
  readonly retried: number;
  readonly pdus: number;
}

/** Sums the samples of `name` whose labels contain every `labels` fragment (e.g. `result="delivered"`). */
export const metricSum = (text: string, name: string, ...labels: readonly string[]): number => {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!labels.every((label) => line.includes(label))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
};

const scrape = async (metricsUrl: string): Promise<string | undefined> => {
  try {
    const response = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(3000) });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
};

export const readSenderCounters = async (metricsUrl: string | undefined): Promise<SenderCounters | undefined> => {
  if (metricsUrl === undefined) return undefined;
  const text = await scrape(metricsUrl);
  if (text === undefined) return undefined;
  return {
    delivered: metricSum(text, 'strata_federation_transactions_total', 'result="delivered"'),
    retried: metricSum(text, 'strata_federation_transactions_total', 'result="retry"'),
    pdus: metricSum(text, 'strata_federation_pdus_sent_total'),
  };
};

/** PDUs waiting in the sender's memory for `destination`. */
export const readBacklog = async (metricsUrl: string | undefined, destination: string): Promise<number | undefined> => {
  if (metricsUrl === undefined) return undefined;
  const text = await scrape(metricsUrl);
  return text === undefined ? undefined : metricSum(text, 'strata_federation_pending', `destination="${destination}"`, 'kind="pdus"');
};

export const counterDelta = (before: SenderCounters | undefined, after: SenderCounters | undefined): SenderCounters | undefined =>
  before === undefined || after === undefined ? undefined :
    { delivered: after.delivered - before.delivered, retried: after.retried - before.retried, pdus: after.pdus - before.pdus };
