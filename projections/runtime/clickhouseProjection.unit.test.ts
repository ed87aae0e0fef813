import { describe, expect, it } from 'vitest';
import type { RoomLog, SubscribeOptions } from '../../domain/ports/index.ts';
import { startClickHouseProjection } from './clickhouseProjection.ts';
import type { ClickHouseExecutor, ClickHouseProjection } from './clickhousePositions.ts';

describe('startClickHouseProjection', () => {
  it('subscribes as a background consumer: the warehouse takes larger, later batches, not one fetch per append', async () => {
    const subscriptions: SubscribeOptions[] = [];
    const log = {
      subscribe: async (options: SubscribeOptions) => {
        subscriptions.push(options);
        let end: () => void = () => undefined;
        const done = new Promise<void>((resolve) => (end = resolve));
        return { stop: async () => end(), done };
      },
    } as unknown as RoomLog;
    const clickhouse: ClickHouseExecutor = { exec: async () => undefined, query: async () => [], insert: async () => undefined };
    const projection: ClickHouseProjection = {
      name: 'warehouse', version: 1, topic: 'room.events', schema: [], tables: [], toRows: () => [],
    } as unknown as ClickHouseProjection;
    const running = await startClickHouseProjection({ projection, log, clickhouse });
    expect(subscriptions).toEqual([expect.objectContaining({ group: 'projection.warehouse', topic: 'room.events', latency: 'background' })]);
    await running.stop();
  });
});
