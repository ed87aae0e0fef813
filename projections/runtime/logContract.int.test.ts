/**
 * The room log contract as the runtime enforces it (roomLogContract.ts), on the embedded log and
 * PGlite: a consumer of the room events topic applies every record up to a gap or an unknown
 * record, then stops on it (no retry can mend the log), naming its offset; a rebuild stops there too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOM_EVENTS_TOPIC } from '../../domain/index.ts';
import type { LogValue, RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { countingProjection } from '../../test/builders/index.ts';
import { rebuildProjection } from './rebuild.ts';
import { startProjection } from './startProjection.ts';
import { ConsumerStoppedError, createSupervisor } from './supervisor.ts';

const ROOM = '!contract:test';

let dir: string;
let log: RoomLog;
let db: SqlDatabase;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-contract-'));
  log = await createEmbeddedLog({ dir: path.join(dir, 'log') });
  await log.ensureTopic(ROOM_EVENTS_TOPIC, 1);
  db = await createPgliteDatabase({ dir: path.join(dir, 'db') });
});
afterEach(async () => {
  await log.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const accepted = (eventId: string, prev: string | null): LogValue => ({
  type: 'pdu.accepted', v: 1, roomId: ROOM, roomVersion: '11', eventId, pdu: {}, stateDelta: [], prevAcceptedEventId: prev,
  forwardExtremities: [eventId], local: null, acceptedAt: 0, body: eventId,
});

const append = async (...values: LogValue[]) =>
  log.append(ROOM_EVENTS_TOPIC, values.map((value) => ({ key: ROOM, value })));

const appliedOffsets = async (): Promise<number[]> =>
  (await db.query<{ log_offset: number }>('SELECT log_offset FROM counting_rows ORDER BY log_offset')).rows.map((row) => row.log_offset);

describe('the room log contract in the consumer runtime', () => {
  it('applies the chain up to a gap, then stops on the gap without retrying it', async () => {
    const supervisor = createSupervisor();
    const running = await startProjection({ projection: countingProjection({ topic: ROOM_EVENTS_TOPIC }), log, db, supervisor });
    // $e3 names $e9 as its predecessor: records between are missing from the log.
    const [, , gap] = await append(accepted('$e1', null), accepted('$e2', '$e1'), accepted('$e3', '$e9'), accepted('$e4', '$e3'));
    const failure = await running.done.then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(ConsumerStoppedError);
    expect((failure as Error).message).toMatch(/gap in room !contract:test/);
    expect(await appliedOffsets()).toEqual([0, 1]);
    expect(supervisor.statuses()).toEqual([expect.objectContaining({
      name: 'counting', state: 'stopped', kind: 'permanent', retries: 0, at: { topic: ROOM_EVENTS_TOPIC, partition: 0, offset: gap!.offset },
    })]);
    await expect(running.waitFor(0, gap!.offset, 10_000)).rejects.toBeInstanceOf(ConsumerStoppedError);
  });

  it('refuses a record of unknown (type, v) instead of skipping it', async () => {
    const running = await startProjection({ projection: countingProjection({ topic: ROOM_EVENTS_TOPIC }), log, db });
    await append(accepted('$e1', null), { type: 'pdu.accepted', v: 99, roomId: ROOM, body: 'from the future' }, accepted('$e2', '$e1'));
    await expect(running.done).rejects.toThrow(/unknown room record \(type "pdu.accepted", v 99\) at strata.room.events\/0@1/);
    expect(await appliedOffsets()).toEqual([0]);
  });

  it('stops a rebuild at the gap, with the records before it applied', async () => {
    await append(accepted('$e1', null), accepted('$e2', null));
    await expect(rebuildProjection({ projection: countingProjection({ topic: ROOM_EVENTS_TOPIC }), log, db }))
      .rejects.toThrow(/strata.room.events\/0@1: gap in room !contract:test/);
    expect(await appliedOffsets()).toEqual([0]);
  });
});
