/** Command line of `npm run bench analytics`: parsed and checked before anything is created. */
import { parseArgs } from 'node:util';

export interface AnalyticsBenchOptions {
  readonly events: number;
  readonly rooms: number;
  readonly senders: number;
  readonly remoteServers: number;
  /** The corpus spans this many days, ending now. */
  readonly days: number;
  readonly partitions: number;
  /** Records per append to the log. */
  readonly appendBatch: number;
  /** Measured runs of each question on each store (after one warm-up run). */
  readonly repetitions: number;
  /** Seal event content in the log as a server does (keys in PostgreSQL); off: plain records. */
  readonly sealed: boolean;
  readonly seed: number;
  readonly kafkaBrokers: string;
  readonly postgresUrl: string;
  readonly clickhouseUrl: string;
  /** Leave the topic and databases behind (named in the output) instead of dropping them. */
  readonly keep: boolean;
  readonly maxRuntimeSeconds: number;
}

export const usage = `usage: npm run bench analytics -- [options]
  Writes a synthetic room log (pdu.accepted records as the room writer appends them) to a Kafka topic
  of its own, lets the rooms projection (PostgreSQL) and the analytics projection (ClickHouse) consume
  it, and reports ingest rates, then asks five analyst questions of ClickHouse and of the PostgreSQL
  timeline, side by side. Its topic and databases are dropped at the end.
  --events N            records to write (default 1000000; 10000000 is the reference run)
  --rooms N             rooms of the long-tail distribution (default events/100, at most 100000)
  --senders N           users (default events/100, between 100 and 100000)
  --remote-servers N    other servers' users take 30% of the senders (default 5)
  --days N              days the events span, ending now (default 180)
  --partitions N        partitions of the topic (default 8, as a server creates it)
  --append-batch N      records per append (default 400; a Kafka record batch must stay under the broker's 1 MiB)
  --repetitions N       measured runs per question and store (default 5)
  --unsealed            write plain records (a server seals event content; default sealed)
  --seed N              corpus seed (default 1)
  --kafka URL           brokers (default 127.0.0.1:19092)
  --postgres URL        an account that may create databases (default postgres://strata:strata@127.0.0.1:15432/strata)
  --clickhouse URL      (default http://127.0.0.1:18123)
  --keep                keep the topic and databases
  --max-runtime SECONDS hard stop (default: computed from --events)`;

const positive = (name: string, raw: string | undefined, fallback: number, minimum = 1): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`--${name} must be an integer of at least ${minimum}, got '${raw}'`);
  return value;
};

export const parseAnalyticsBenchArgs = (args: readonly string[]): AnalyticsBenchOptions | 'help' => {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      events: { type: 'string' }, rooms: { type: 'string' }, senders: { type: 'string' }, 'remote-servers': { type: 'string' },
      days: { type: 'string' }, partitions: { type: 'string' }, 'append-batch': { type: 'string' }, repetitions: { type: 'string' },
      unsealed: { type: 'boolean' }, seed: { type: 'string' }, kafka: { type: 'string' }, postgres: { type: 'string' },
      clickhouse: { type: 'string' }, keep: { type: 'boolean' }, 'max-runtime': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const events = positive('events', values.events, 1_000_000, 1000);
  const scaled = Math.min(100_000, Math.max(100, Math.round(events / 100)));
  return {
    events,
    rooms: positive('rooms', values.rooms, Math.min(100_000, Math.max(10, Math.round(events / 100)))),
    senders: positive('senders', values.senders, scaled, 2),
    remoteServers: positive('remote-servers', values['remote-servers'], 5, 0),
    days: positive('days', values.days, 180),
    partitions: positive('partitions', values.partitions, 8),
    appendBatch: positive('append-batch', values['append-batch'], 400),
    repetitions: positive('repetitions', values.repetitions, 5),
    sealed: values.unsealed !== true,
    seed: positive('seed', values.seed, 1, 0),
    kafkaBrokers: values.kafka ?? '127.0.0.1:19092',
    postgresUrl: values.postgres ?? 'postgres://strata:strata@127.0.0.1:15432/strata',
    clickhouseUrl: values.clickhouse ?? 'http://127.0.0.1:18123',
    keep: values.keep === true,
    // Writing and ingesting at a few thousand records a second, plus the questions.
    maxRuntimeSeconds: positive('max-runtime', values['max-runtime'], Math.ceil(1800 + events / 500)),
  };
};
