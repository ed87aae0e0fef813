// The room writer on the embedded log and PGlite with the real rooms projection: transaction-id
// idempotency, a linear DAG under concurrent (pipelined) sends, failed appends, and rebuilding a
// room after a restart.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RoomLog, SqlDatabase } from '../../domain/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { startRoomsStack, type RoomsStack } from '../harness/index.ts';
import type { RoomRequester } from '../../domain/app/rooms/index.ts';

const alice: RoomRequester = { userId: '@alice:example.org', deviceId: 'ALICEDEV' };

let dir: string;
let log: RoomLog;
let db: SqlDatabase;
const stacks: RoomsStack[] = [];

const stack = async (options: Parameters<typeof startRoomsStack>[0] = {}) => {
  const started = await startRoomsStack({ log, db, dir, ...options });
  stacks.push(started);
  return started;
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-writer-'));
  log = await createEmbeddedLog({ dir: path.join(dir, 'log') });
  db = await createPgliteDatabase({ dir: path.join(dir, 'db') });
});
afterEach(async () => {
  for (const started of stacks.splice(0)) await started.close();
  await log.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const prevEventsOf = async (s: RoomsStack, eventId: string) => (await s.queries.event(eventId))!.pdu.prev_events;

describe('room writer', () => {
  it('creates two rooms alike from one user in one millisecond under different ids (v12 ids are the create event\'s hash)', async () => {
    const now = () => 1_700_000_000_000;
    const s = await stack({ now });
    const [first, second] = await Promise.all([
      s.rooms.createRoom(alice, { room_version: '12' }), s.rooms.createRoom(alice, { room_version: '12' }),
    ]);
    expect(first.roomId).not.toBe(second.roomId);
    // A writer that has not seen them (a restart) finds them in the read model.
    const restarted = await stack({ now });
    const third = await restarted.rooms.createRoom(alice, { room_version: '12' });
    expect([first.roomId, second.roomId]).not.toContain(third.roomId);
    for (const { roomId } of [first, second, third]) {
      const creates = await restarted.queries.messages(roomId, { dir: 'f', from: 0, limit: 100, filter: { types: ['m.room.create'] } });
      expect(creates).toHaveLength(1);
    }
  });

  it('answers a repeated transaction id with the first event id and appends nothing', async () => {
    const s = await stack();
    const { roomId } = await s.rooms.createRoom(alice, {});
    const first = await s.rooms.sendMessage(alice, roomId, 'm.room.message', 'txn1', { msgtype: 'm.text', body: 'hi' });
    const again = await s.rooms.sendMessage(alice, roomId, 'm.room.message', 'txn1', { msgtype: 'm.text', body: 'hi' });
    expect(again).toBe(first);
    const otherDevice = await s.rooms.sendMessage({ ...alice, deviceId: 'OTHER' }, roomId, 'm.room.message', 'txn1', { msgtype: 'm.text', body: 'hi' });
    expect(otherDevice).not.toBe(first);
    const messages = await s.queries.messages(roomId, { dir: 'f', from: 0, limit: 100, filter: { types: ['m.room.message'] } });
    expect(messages.map((event) => event.eventId)).toEqual([first, otherDevice]);
    expect(messages[0]!.local).toEqual({ userId: alice.userId, deviceId: 'ALICEDEV', txnId: 'txn1' });

    // A new writer (a restart) finds the transaction in the read model.
    const restarted = await stack();
    expect(await restarted.rooms.sendMessage(alice, roomId, 'm.room.message', 'txn1', { body: 'hi' })).toBe(first);
  });

  it('reads a device\'s transaction ids once after a restart, and per send when it has more than it reads', async () => {
    const s = await stack();
    const { roomId } = await s.rooms.createRoom(alice, {});
    const sent = [];
    for (const txn of ['a', 'b', 'c']) sent.push(await s.rooms.sendMessage(alice, roomId, 'm.room.message', txn, { body: txn }));

    // Three ids, two read per device: the restarted writer cannot know them all and asks per send.
    const few = await stack({ transactionsReadPerDevice: 2 });
    for (const [i, txn] of ['a', 'b', 'c'].entries()) expect(await few.rooms.sendMessage(alice, roomId, 'm.room.message', txn, { body: txn })).toBe(sent[i]);
    const d = await few.rooms.sendMessage(alice, roomId, 'm.room.message', 'd', { body: 'd' });
    expect(sent).not.toContain(d);
    expect(await few.rooms.sendMessage(alice, roomId, 'm.room.message', 'd', { body: 'd' })).toBe(d);

    // Enough read: every id is known from the one read, old and new alike.
    const many = await stack({ transactionsReadPerDevice: 10 });
    for (const [i, txn] of ['a', 'b', 'c', 'd'].entries()) {
      expect(await many.rooms.sendMessage(alice, roomId, 'm.room.message', txn, { body: txn })).toBe([...sent, d][i]);
    }
    const messages = await many.queries.messages(roomId, { dir: 'f', from: 0, limit: 100, filter: { types: ['m.room.message'] } });
    expect(messages.map((event) => event.eventId)).toEqual([...sent, d]);
  });

  it.each([1, 2] as const)('keeps the DAG linear under concurrent sends to one room (%i in flight)', async (appendsInFlight) => {
    const s = await stack({ appendsInFlight });
    const { roomId } = await s.rooms.createRoom(alice, { preset: 'public_chat' });
    const ids = await Promise.all(Array.from({ length: 25 }, (_, i) =>
      s.rooms.sendMessage(alice, roomId, 'm.room.message', `c${i}`, { msgtype: 'm.text', body: `message ${i}` })));
    expect(new Set(ids).size).toBe(25);
    const timeline = await s.queries.messages(roomId, { dir: 'f', from: 0, limit: 1000 });
    for (let i = 1; i < timeline.length; i++) {
      expect(timeline[i]!.pdu.prev_events).toEqual([timeline[i - 1]!.eventId]);
      expect(timeline[i]!.pdu.depth).toBe(Number(timeline[i - 1]!.pdu.depth) + 1);
    }
    const snapshot = await s.queries.snapshot(roomId);
    expect(snapshot?.forwardExtremities).toEqual([timeline[timeline.length - 1]!.eventId]);
  });

  it.each([1, 2] as const)('fails a failed append and every command decided on top of it, then continues from the log (%i in flight)', async (appendsInFlight) => {
    let failNext = false;
    // The log with one append that fails after a while, so later commands are decided behind it.
    const flaky = new Proxy(log, {
      get(target, property) {
        if (property === 'append') {
          return async (...args: Parameters<RoomLog['append']>) => {
            if (!failNext) return target.append(...args);
            failNext = false;
            await new Promise((resolve) => setTimeout(resolve, 100));
            throw new Error('broker unavailable');
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const s = await stack({ log: flaky, appendsInFlight });
    const { roomId } = await s.rooms.createRoom(alice, { preset: 'public_chat' });
    const before = await s.rooms.sendMessage(alice, roomId, 'm.room.message', 'ok1', { msgtype: 'm.text', body: 'kept' });
    failNext = true;
    const lost = await Promise.allSettled(Array.from({ length: 5 }, (_, i) =>
      s.rooms.sendMessage(alice, roomId, 'm.room.message', `lost${i}`, { msgtype: 'm.text', body: `lost ${i}` })));
    expect(lost.map((result) => result.status)).toEqual(Array(5).fill('rejected'));

    const after = await s.rooms.sendMessage(alice, roomId, 'm.room.message', 'ok2', { msgtype: 'm.text', body: 'after' });
    expect(await prevEventsOf(s, after)).toEqual([before]);
    const bodies = (await s.queries.messages(roomId, { dir: 'f', from: 0, limit: 100, filter: { types: ['m.room.message'] } }))
      .map((event) => (event.pdu.content as { body?: string }).body);
    expect(bodies).toEqual(['kept', 'after']);
    // A retried transaction of a lost command is sent anew.
    const retried = await s.rooms.sendMessage(alice, roomId, 'm.room.message', 'lost0', { msgtype: 'm.text', body: 'lost 0' });
    expect(await prevEventsOf(s, retried)).toEqual([after]);
  });

  it('rebuilds a room after a restart from the snapshot plus the log records the projection has not applied', async () => {
    const first = await stack();
    const { roomId } = await first.rooms.createRoom(alice, { name: 'before' });
    await first.rooms.sendMessage(alice, roomId, 'm.room.message', 'a', { body: 'one' });
    await first.close();
    stacks.splice(stacks.indexOf(first), 1);

    // A writer whose projection is not running: its appends reach the log but not the read model.
    const neverApplied = { waitFor: async () => false };
    const lagging = await stack({ waiter: neverApplied });
    await lagging.projection.stop();
    const hidden1 = await lagging.rooms.sendMessage(alice, roomId, 'm.room.message', 'b', { body: 'two' });
    const hidden2 = await lagging.rooms.putState(alice, roomId, 'm.room.name', '', { name: 'after' });
    expect(await lagging.queries.event(hidden2)).toBeUndefined();

    // Restart with the projection still lagging: the tail of the log must be replayed.
    const restarted = await stack({ waiter: neverApplied });
    await restarted.projection.stop();
    const next = await restarted.rooms.sendMessage(alice, roomId, 'm.room.message', 'c', { body: 'three' });
    const state = await restarted.writer.state(roomId);
    expect(state?.lastAcceptedEventId).toBe(next);
    expect([...state!.state.values()]).toContain(hidden2);

    // Once a projection runs again, the whole chain is in the read model, linear.
    const caughtUp = await stack();
    const partition = await log.partitionFor('strata.room.events', roomId);
    expect(await caughtUp.projection.waitFor(partition, (await log.endOffset('strata.room.events', partition)) - 1, 10_000)).toBe(true);
    expect(await prevEventsOf(caughtUp, next)).toEqual([hidden2]);
    expect(await prevEventsOf(caughtUp, hidden2)).toEqual([hidden1]);
    expect((await caughtUp.queries.stateEvent(roomId, 'm.room.name', ''))?.eventId).toBe(hidden2);
  });

  it('refuses what the auth rules forbid with a MatrixError and leaves the room unchanged', async () => {
    const s = await stack();
    const { roomId } = await s.rooms.createRoom(alice, {});
    const mallory: RoomRequester = { userId: '@mallory:example.org', deviceId: 'M' };
    await expect(s.rooms.sendMessage(mallory, roomId, 'm.room.message', 't', { body: 'x' })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(s.rooms.sendMessage(alice, roomId, 'm.room.message', 'big', { body: 'x'.repeat(70_000) })).rejects.toMatchObject({ errcode: 'M_TOO_LARGE', status: 413 });
    await expect(s.rooms.sendMessage(alice, '!nope:example.org', 'm.room.message', 't', {})).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(s.rooms.createRoom(alice, { room_version: '999' })).rejects.toMatchObject({ errcode: 'M_UNSUPPORTED_ROOM_VERSION', status: 400 });
  });
});
