// The room writer loading a room from the rooms projection's snapshot plus the log after it (on
// the embedded log and PGlite) refuses, loudly, a tail holding a record of unknown (type, v) or a
// gap in the room's prevAcceptedEventId chain, instead of deciding on a state that is not the log's.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOM_EVENTS_TOPIC, type LogValue, type RoomLog, type SqlDatabase } from '../../domain/index.ts';
import type { RoomRequester } from '../../domain/app/rooms/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { startRoomsStack, type RoomsStack } from '../harness/index.ts';

const alice: RoomRequester = { userId: '@alice:example.org', deviceId: 'ALICEDEV' };

let dir: string;
let log: RoomLog;
let db: SqlDatabase;
const stacks: RoomsStack[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-replay-'));
  log = await createEmbeddedLog({ dir: path.join(dir, 'log') });
  db = await createPgliteDatabase({ dir: path.join(dir, 'db') });
});
afterEach(async () => {
  for (const started of stacks.splice(0)) await started.close();
  await log.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** A room with one message, written by a first process that then stops; answers the room and its last event. */
const roomWrittenBefore = async (): Promise<{ roomId: string; lastEventId: string }> => {
  const first = await startRoomsStack({ log, db, dir });
  const { roomId } = await first.rooms.createRoom(alice, {});
  const lastEventId = await first.rooms.sendMessage(alice, roomId, 'm.room.message', 'txn1', { msgtype: 'm.text', body: 'hi' });
  await first.close();
  return { roomId, lastEventId };
};

/** A second process whose projection is taken as caught up, so the writer replays the tail itself. */
const restarted = async (): Promise<RoomsStack> => {
  const started = await startRoomsStack({ log, db, dir, waiter: { waitFor: async () => true } });
  stacks.push(started);
  return started;
};

const acceptedAfter = (roomId: string, eventId: string, prev: string | null): LogValue => ({
  type: 'pdu.accepted', v: 1, roomId, roomVersion: '11', eventId, pdu: {}, stateDelta: [], prevAcceptedEventId: prev,
  forwardExtremities: [eventId], local: null, acceptedAt: 0,
});

describe('room writer replay', () => {
  it('refuses to load a room whose log tail holds a record of unknown (type, v)', async () => {
    const { roomId } = await roomWrittenBefore();
    await log.append(ROOM_EVENTS_TOPIC, [{ key: roomId, value: { type: 'pdu.accepted', v: 99, roomId } }]);
    const second = await restarted();
    await expect(second.rooms.sendMessage(alice, roomId, 'm.room.message', 'txn2', { msgtype: 'm.text', body: 'after' }))
      .rejects.toThrow(/room log: unknown record \(type "pdu.accepted", v 99\) at strata.room.events\/\d+@\d+; refusing to load the room/);
  });

  it('refuses to load a room whose log tail skips an accepted event (a gap)', async () => {
    const { roomId, lastEventId } = await roomWrittenBefore();
    await log.append(ROOM_EVENTS_TOPIC, [{ key: roomId, value: acceptedAfter(roomId, '$lost-successor', '$never-seen') }]);
    const second = await restarted();
    await expect(second.rooms.sendMessage(alice, roomId, 'm.room.message', 'txn2', { msgtype: 'm.text', body: 'after' }))
      .rejects.toThrow(new RegExp(`gap in room .* \\$lost-successor follows \\$never-seen but the last accepted event is \\${lastEventId}`));
  });
});
