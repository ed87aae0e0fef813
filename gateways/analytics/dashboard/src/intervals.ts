/**
 * The time range the filters ask for: the last hour, day, week or month up to the end of the
 * current bucket, or a custom range in UTC; and the bucket that keeps a chart readable. Pure.
 */
export type Interval = 'hour' | 'day' | 'week' | 'month' | 'custom';
export type Bucket = 'minute' | 'hour' | 'day';

export const BUCKET_MS: Readonly<Record<Bucket, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const SPAN_MS: Readonly<Record<Exclude<Interval, 'custom'>, number>> = {
  hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000, month: 30 * 86_400_000,
};

export interface Range {
  readonly from: number;
  readonly to: number;
  readonly bucket: Bucket;
}

/** Minutes up to 6 hours, hours up to 8 days, days beyond: a few hundred points at most. */
export const bucketFor = (spanMs: number): Bucket =>
  spanMs <= 6 * 3_600_000 ? 'minute' : spanMs <= 8 * 86_400_000 ? 'hour' : 'day';

const floorTo = (ts: number, size: number): number => ts - (ts % size);

export const isInterval = (value: string): value is Interval => ['hour', 'day', 'week', 'month', 'custom'].includes(value);

/** A `datetime-local` value read as UTC; undefined when empty or invalid. */
export const parseUtcInput = (value: string): number | undefined => {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return undefined;
  const ms = Date.parse(`${value}Z`);
  return Number.isNaN(ms) ? undefined : ms;
};

/** The range of a preset ending with the bucket that holds `now`, or of a custom from/to. */
export const rangeOf = (interval: Interval, now: number, custom?: { from?: number; to?: number }): Range | string => {
  if (interval === 'custom') {
    const { from, to } = custom ?? {};
    if (from === undefined || to === undefined) return 'Give both ends of the custom range';
    if (from >= to) return "'From' must be before 'To'";
    const bucket = bucketFor(to - from);
    return { from: floorTo(from, BUCKET_MS[bucket]), to, bucket };
  }
  const span = SPAN_MS[interval];
  const bucket = bucketFor(span);
  const size = BUCKET_MS[bucket];
  const to = floorTo(now, size) + size;
  return { from: to - span, to, bucket };
};

const pad = (n: number): string => String(n).padStart(2, '0');

/** A bucket's start as the chart labels it (UTC). */
export const bucketLabel = (ts: number, bucket: Bucket): string => {
  const d = new Date(ts);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return bucket === 'day' ? day : `${day} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
};

export const describeRange = (range: Range): string =>
  `${bucketLabel(range.from, 'minute')} – ${bucketLabel(range.to, 'minute')} UTC, per ${range.bucket}`;
