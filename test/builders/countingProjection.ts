/**
 * Test fixtures for the runtime: a projection that writes one row per record (its primary key is
 * partition + offset and the INSERT has no ON CONFLICT, so applying a record twice fails loudly) and
 * keeps a per-partition counter.
 */
import type { LogEntry, LogRecordToAppend, RoomLog } from '../../domain/ports/index.ts';
import type { Projection } from '../../projections/runtime/index.ts';

export const countingProjection = (options: {
  name?: string; topic: string; version?: number; transform?: (body: string) => string;
}): Projection => {
  const name = options.name ?? 'counting';
  const rows = `${name}_rows`;
  const counts = `${name}_counts`;
  const transform = options.transform ?? ((body: string) => body);
  return {
    name,
    version: options.version ?? 1,
    topic: options.topic,
    schema: [
      `CREATE TABLE IF NOT EXISTS ${rows} (partition integer NOT NULL, log_offset bigint NOT NULL,
        room_id text NOT NULL, body text NOT NULL, PRIMARY KEY (partition, log_offset))`,
      `CREATE TABLE IF NOT EXISTS ${counts} (partition integer PRIMARY KEY, n bigint NOT NULL)`,
    ],
    tables: [rows, counts],
    evolve: (entry: LogEntry) => [
      {
        text: `INSERT INTO ${rows} (partition, log_offset, room_id, body) VALUES ($1, $2, $3, $4)`,
        values: [entry.partition, entry.offset, entry.key, transform(String((entry.value as { body: string }).body))],
      },
      {
        text: `INSERT INTO ${counts} (partition, n) VALUES ($1, 1)
               ON CONFLICT (partition) DO UPDATE SET n = ${counts}.n + 1`,
        values: [entry.partition],
      },
    ],
  };
};

/** `count` records spread over rooms `!room<i>:test`, appended in chunks. */
export const appendRecords = async (log: RoomLog, topic: string, from: number, count: number): Promise<void> => {
  for (let start = from; start < from + count; start += 200) {
    const records: LogRecordToAppend[] = [];
    for (let i = start; i < Math.min(from + count, start + 200); i++) {
      records.push({ key: `!room${i % 17}:test`, value: { body: `message ${i}` } });
    }
    await log.append(topic, records);
  }
};
