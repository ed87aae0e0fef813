/**
 * The search corpus on Strata: the same records `bench analytics` writes (corpus.ts), appended to the
 * running server's own room log topic, so its rooms and search projections index them as they
 * would any room's history; waits until both have applied every record.
 */
import pg from 'pg';
import { ROOM_EVENTS_TOPIC, type LogRecordToAppend } from '../../../domain/index.ts';
import { createKafkaLog, withNamespace } from '../../../infra/kafka/index.ts';
import { createCorpus, type CorpusOptions } from '../analytics/corpus.ts';
import { createProgress } from '../analytics/progress.ts';

const APPEND_BATCH = 400;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface StrataLoad {
  readonly records: number;
  readonly writeSeconds: number;
  readonly indexSeconds: number;
  readonly largestRoomId: string;
}

export const loadStrataCorpus = async (options: {
  readonly kafkaBrokers: string;
  readonly kafkaNamespace: string;
  readonly postgresUrl: string;
  readonly corpus: CorpusOptions;
  readonly signal: AbortSignal;
}): Promise<StrataLoad> => {
  const kafka = await createKafkaLog({ brokers: options.kafkaBrokers.split(','), clientId: `bench-search-${options.kafkaNamespace}` });
  const log = withNamespace(kafka, options.kafkaNamespace);
  const db = new pg.Client({ connectionString: options.postgresUrl });
  await db.connect();
  try {
    const corpus = createCorpus(options.corpus);
    const started = performance.now();
    const writing = createProgress('Strata: appending the corpus to its room log', options.corpus.events);
    let inFlight: Promise<unknown> = Promise.resolve();
    for (;;) {
      if (options.signal.aborted) throw new Error('stopped');
      const batch: LogRecordToAppend[] = [];
      for (let record = corpus.next(); record !== undefined; record = batch.length < APPEND_BATCH ? corpus.next() : undefined) {
        batch.push({ key: record.key, value: record.value, headers: record.headers });
      }
      await inFlight;
      writing.update(corpus.stats.messagesHanded);
      if (batch.length === 0) break;
      inFlight = log.append(ROOM_EVENTS_TOPIC, batch);
    }
    writing.finish(corpus.stats.messagesHanded);
    const written = performance.now();
    let total = 0;
    const partitions = await log.partitionCount(ROOM_EVENTS_TOPIC);
    for (let partition = 0; partition < partitions; partition += 1) total += await log.endOffset(ROOM_EVENTS_TOPIC, partition);
    const indexing = createProgress('Strata: rooms and search projections applying it', 2 * total);
    for (;;) {
      if (options.signal.aborted) throw new Error('stopped');
      const rows = (await db.query<{ projection: string; applied: string }>(
        `SELECT projection, sum(next_offset) AS applied FROM projection_positions WHERE topic = $1 AND projection IN ('rooms', 'search') GROUP BY projection`,
        [ROOM_EVENTS_TOPIC])).rows;
      const applied = rows.reduce((sum, row) => sum + Math.min(total, Number(row.applied)), 0);
      indexing.update(applied);
      if (rows.length === 2 && applied >= 2 * total) {
        indexing.finish(applied);
        break;
      }
      await sleep(500);
    }
    return {
      records: corpus.stats.records, writeSeconds: (written - started) / 1000, indexSeconds: (performance.now() - written) / 1000,
      largestRoomId: corpus.roomIdOf(0)!,
    };
  } finally {
    await db.end();
    await kafka.close();
  }
};
