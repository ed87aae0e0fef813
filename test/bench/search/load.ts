/** Closed-loop search load: C clients, each sending its next search as soon as the last one answered. */
import { request, type HttpOptions } from '../cs/matrixClient.ts';
import { percentile } from '../cs/stats.ts';

export interface KindFigures {
  readonly queries: number;
  readonly errors: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly firstError?: string;
}

/** Queries/s and latency percentiles of the answered requests; NaN latencies when none answered. */
export const kindFigures = (latencies: readonly number[], errors: number, seconds: number, firstError?: string): KindFigures => {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    queries: sorted.length,
    errors,
    perSecond: sorted.length / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    ...(firstError === undefined ? {} : { firstError }),
  };
};

export const runSearchLoad = async (options: {
  readonly http: HttpOptions;
  readonly token: string;
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly clients: number;
  readonly seconds: number;
}): Promise<KindFigures> => {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline && !options.http.signal.aborted) {
      const sent = performance.now();
      try {
        await request(options.http, 'POST', options.path, { token: options.token, body: options.body });
        latencies.push(performance.now() - sent);
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  return kindFigures(latencies, errors, (performance.now() - started) / 1000, firstError);
};
