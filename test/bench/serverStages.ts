/**
 * Where a step's latency went inside the server, read from its Prometheus histograms: Strata's
 * `strata_send_stage_seconds{stage}` (a send's queue, decide, append and apply stages) and
 * `strata_sync_wake_to_answer_seconds` (a woken long-poll to its answer). The /metrics text is
 * read before and after a step; the bucket counts' difference is the step's, and its quantiles are
 * estimated as Prometheus's histogram_quantile does (linear within the bucket).
 */

/** Cumulative bucket counts by upper bound (seconds; Infinity for `+Inf`), per series. */
export type HistogramBuckets = ReadonlyMap<number, number>;
/** Series of the histograms read: `name` or `name{stage}`. */
export type StageHistograms = ReadonlyMap<string, HistogramBuckets>;

export interface StageFigure {
  readonly stage: string;
  readonly count: number;
  /** Milliseconds. */
  readonly p50: number;
  readonly p99: number;
}

/** The order a message lives them in. */
const STAGE_ORDER = ['queue', 'decide', 'append', 'apply', 'wake→answer'];

const BUCKET_LINE = /^(strata_send_stage_seconds|strata_sync_wake_to_answer_seconds)_bucket\{([^}]*)\} (\S+)$/;

/** The stage histograms' buckets in a /metrics text (other metrics are ignored). */
export const parseStageHistograms = (text: string): StageHistograms => {
  const series = new Map<string, Map<number, number>>();
  for (const line of text.split('\n')) {
    const match = BUCKET_LINE.exec(line);
    if (match === null) continue;
    const labels = new Map([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((label) => [label[1]!, label[2]!]));
    const le = labels.get('le');
    if (le === undefined) continue;
    const name = match[1] === 'strata_send_stage_seconds' ? labels.get('stage') : 'wake→answer';
    if (name === undefined) continue;
    let buckets = series.get(name);
    if (buckets === undefined) series.set(name, (buckets = new Map()));
    buckets.set(le === '+Inf' ? Infinity : Number(le), Number(match[3]));
  }
  return series;
};

/** `q` (0–1) of a cumulative histogram, in seconds; NaN when it holds nothing. */
export const histogramQuantile = (buckets: HistogramBuckets, q: number): number => {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound)!;
    if (count >= rank) {
      // Past the last finite bound nothing tells where: its bound is the answer, as in Prometheus.
      if (bound === Infinity) return lower;
      return lower + (bound - lower) * ((rank - below) / Math.max(count - below, 1e-9));
    }
    lower = bound;
    below = count;
  }
  return lower;
};

/** Each stage's figures between two readings, in a message's order; stages with no sample left out. */
export const stagesBetween = (before: StageHistograms, after: StageHistograms): StageFigure[] => {
  const figures: StageFigure[] = [];
  for (const [stage, buckets] of after) {
    const earlier = before.get(stage);
    const delta = new Map([...buckets].map(([bound, count]) => [bound, count - (earlier?.get(bound) ?? 0)]));
    const count = delta.get(Infinity) ?? 0;
    if (count <= 0) continue;
    figures.push({ stage, count, p50: 1000 * histogramQuantile(delta, 0.5), p99: 1000 * histogramQuantile(delta, 0.99) });
  }
  const rank = (stage: string): number => (STAGE_ORDER.includes(stage) ? STAGE_ORDER.indexOf(stage) : STAGE_ORDER.length);
  return figures.sort((a, b) => rank(a.stage) - rank(b.stage) || a.stage.localeCompare(b.stage));
};

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));

/** `queue 0.05 / 0.90, decide …` (p50 / p99 ms per stage), or a dash when nothing was read. */
export const formatStages = (figures: readonly StageFigure[] | undefined): string =>
  figures === undefined || figures.length === 0 ? '-' : figures.map((f) => `${f.stage} ${ms(f.p50)} / ${ms(f.p99)}`).join(', ');

/** Reads the stage histograms from a /metrics URL; undefined (and the reason said) when it cannot. */
export const readStageHistograms = async (url: string, say: (line: string) => void): Promise<StageHistograms | undefined> => {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return parseStageHistograms(await response.text());
  } catch (error) {
    say(`server stages: cannot read ${url}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
};
