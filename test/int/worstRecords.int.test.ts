// The worst records the decider admits — identifiers at their byte bounds in random (incompressible)
// multi-byte text, content nested as deep and grown as large as allowed, odd Unicode, a relation
// target at the identifier bound — go through the real room writer into the rooms projection on
// real PostgreSQL (with every index the server creates) and the analytics projection on real
// ClickHouse. Each is stored and read back; one past each bound is refused before the log.
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LIMITS, MAX_PDU_BYTES, ROOM_EVENTS_TOPIC, isMatrixError, utf8Length, type JsonObject } from '../../domain/index.ts';
import type { RoomRequester } from '../../domain/app/rooms/index.ts';
import { createClickHouse, type ClickHouse } from '../../infra/clickhouse/index.ts';
import { analyticsProjection, startClickHouseProjection } from '../../projections/analytics/index.ts';
import { ensureRelationIndexes, ensureSyncIndexes } from '../../projections/rooms/index.ts';
import { chIdentifier, chString } from '../../projections/runtime/index.ts';
import { openTestSchema, startRoomsStack, TEST_PARTITIONS, type RoomsStack, type TestSchema } from '../harness/index.ts';

/** Characters of 1 to 4 UTF-8 bytes, astral ones included. */
const POOL = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-', 'é', 'ß', 'Ж', '€', '中', '\u200f', '\ufeff', '\uffff', '😀', '\u{10ffff}'];

/** Random text of exactly `bytes` UTF-8 bytes. */
const randomText = (bytes: number, prefix = ''): string => {
  let text = prefix;
  let size = utf8Length(prefix);
  while (size < bytes) {
    const char = POOL[randomInt(POOL.length)]!;
    const length = utf8Length(char);
    if (size + length > bytes) continue;
    text += char;
    size += length;
  }
  return text;
};

const nested = (levels: number): JsonObject => {
  let value: JsonObject = { leaf: randomText(20) };
  for (let i = 1; i < levels; i++) value = { [randomText(8)]: value };
  return value;
};

const alice: RoomRequester = { userId: '@alice:example.org', deviceId: randomText(LIMITS.deviceIdBytes) };
const MAX = 255;

let schema: TestSchema;
let stack: RoomsStack;
let ch: ClickHouse;
let roomId: string;
const database = `strata_worst_${process.pid}_${Date.now()}`;
const stored: { eventId: string; type: string; content: JsonObject }[] = [];

beforeAll(async () => {
  schema = await openTestSchema('worst_records', 4);
  stack = await startRoomsStack({ db: schema.db });
  // The indexes the server adds for /sync, notifications and relations: each bounds its key's size.
  await ensureSyncIndexes(schema.db);
  await ensureRelationIndexes(schema.db);
  ({ roomId } = await stack.rooms.createRoom(alice, { room_version: '12', preset: 'public_chat' }));
  ch = await createClickHouse({ url: inject('strataTestServices').clickhouseUrl, database });
});
afterAll(async () => {
  await stack?.close();
  await schema?.drop();
  await ch?.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
  await ch?.close();
});

const send = async (type: string, txnId: string, content: JsonObject): Promise<string> => {
  const eventId = await stack.rooms.sendMessage(alice, roomId, type, txnId, content);
  stored.push({ eventId, type, content });
  return eventId;
};

const refusal = async (attempt: Promise<unknown>): Promise<string> => {
  try {
    await attempt;
  } catch (error) {
    if (isMatrixError(error) && error.status >= 400 && error.status < 500) return error.errcode;
    throw error;
  }
  return 'accepted';
};

describe('the worst records the decider admits', () => {
  it('stores an event type, transaction id and device id at 255 bytes, and finds the transaction again', async () => {
    const type = randomText(MAX);
    const txnId = randomText(LIMITS.pathSegmentBytes);
    const eventId = await send(type, txnId, { body: randomText(100) });
    expect((await stack.queries.event(eventId))?.pdu.type).toBe(type);
    expect(await stack.queries.eventIdForTransaction(roomId, { userId: alice.userId, deviceId: alice.deviceId, txnId })).toBe(eventId);
    expect(await refusal(stack.rooms.sendMessage(alice, roomId, randomText(MAX + 1), 't-over', {}))).toBe('M_TOO_LARGE');
  });

  it('stores state with a type and state key of 255 bytes each, odd Unicode included', async () => {
    const type = randomText(MAX);
    const stateKey = randomText(MAX, '\u0301\u202e');
    const content = { v: randomText(1000) };
    const eventId = await stack.rooms.putState(alice, roomId, type, stateKey, content);
    stored.push({ eventId, type, content });
    expect((await stack.queries.stateEvent(roomId, type, stateKey))?.eventId).toBe(eventId);
    expect(await refusal(stack.rooms.putState(alice, roomId, 'org.x', randomText(MAX + 1), {}))).toBe('M_TOO_LARGE');
  });

  it('stores U+0000 in an event type and a state key exactly (no text column holds one)', async () => {
    const state = await stack.rooms.putState(alice, roomId, 'org.\u0000x', 'a\u0000b', { v: '\u0000' });
    stored.push({ eventId: state, type: 'org.\u0000x', content: { v: '\u0000' } });
    expect((await stack.queries.event(state))?.pdu).toMatchObject({ type: 'org.\u0000x', state_key: 'a\u0000b', content: { v: '\u0000' } });
  });

  it('stores content nested as deep as a request body may be, and refuses one level more', async () => {
    const deepest = nested(LIMITS.jsonDepth);
    const eventId = await send('org.example.deep', randomText(40), deepest);
    expect((await stack.queries.event(eventId))?.pdu.content).toEqual(deepest);
    expect(await refusal(stack.rooms.sendMessage(alice, roomId, 'org.example.deep', 't-deeper', nested(LIMITS.jsonDepth + 1)))).toBe('M_BAD_JSON');
  });

  it('stores the largest event the size limit admits, in incompressible text', async () => {
    // The largest body that still fits, to within 16 bytes: a binary search (refusals append nothing).
    let low = 0;
    let high = MAX_PDU_BYTES;
    let eventId: string | undefined;
    let content: JsonObject = {};
    while (high - low > 16) {
      const size = Math.floor((low + high) / 2);
      const attempt = { msgtype: 'm.text', body: randomBytes(size).toString('base64').slice(0, size) };
      const outcome = await stack.rooms.sendMessage(alice, roomId, 'm.room.message', `big-${size}`, attempt).catch((error: unknown) => error);
      if (typeof outcome === 'string') [low, eventId, content] = [size, outcome, attempt];
      else {
        expect(outcome).toMatchObject({ errcode: 'M_TOO_LARGE' });
        high = size;
      }
    }
    expect(eventId).toBeDefined();
    stored.push({ eventId: eventId!, type: 'm.room.message', content });
    expect(low).toBeGreaterThan(MAX_PDU_BYTES - 2_000);
    expect((await stack.queries.event(eventId!))?.pdu.content).toEqual(content);
  });

  it('stores odd Unicode in content keys and values, and a relation whose target is 255 bytes', async () => {
    const content: JsonObject = {
      msgtype: 'm.text',
      body: '\u0000\u2028\u2029\ufeff\uffff\u{10ffff}\u0301\u202e😀',
      '\u0000key': ['\u0000', '\u{1f600}', ''],
      [randomText(MAX)]: randomText(2_000),
      'm.relates_to': { rel_type: randomText(MAX), event_id: randomText(MAX, '$') },
    };
    const eventId = await send('org.example.odd', randomText(60), content);
    expect((await stack.queries.event(eventId))?.pdu.content).toEqual(content);
    const tooLong = { 'm.relates_to': { rel_type: 'm.annotation', event_id: randomText(MAX + 1, '$'), key: 'x' } };
    expect(await refusal(stack.rooms.sendMessage(alice, roomId, 'm.reaction', 't-rel', tooLong))).toBe('M_TOO_LARGE');
    // The index holds the target as text, so a target that is not a string (here 60 KB of it) is refused too.
    const notString = { 'm.relates_to': { rel_type: 'm.annotation', event_id: { pad: randomBytes(45_000).toString('base64') } } };
    expect(await refusal(stack.rooms.sendMessage(alice, roomId, 'm.reaction', 't-rel-object', notString))).toBe('M_BAD_JSON');
  });

  it('goes on taking ordinary writes afterwards', async () => {
    const eventId = await send('m.room.message', 'after', { msgtype: 'm.text', body: 'still fine' });
    expect((await stack.queries.event(eventId))?.eventId).toBe(eventId);
  });

  it('has the analytics projection store every one of them in ClickHouse', async () => {
    const running = await startClickHouseProjection({ projection: analyticsProjection('example.org', []), log: stack.log, clickhouse: ch });
    try {
      for (let p = 0; p < TEST_PARTITIONS; p++) {
        const end = await stack.log.endOffset(ROOM_EVENTS_TOPIC, p);
        if (end > 0) expect(await running.waitFor(p, end - 1, 30_000)).toBe(true);
      }
    } finally {
      await running.stop();
    }
    const rows = await ch.query<{ event_id: string; event_type: string }>(
      `SELECT event_id, event_type FROM ${chIdentifier(database)}.analytics_events FINAL WHERE room_id = ${chString(roomId)}`,
    );
    const types = new Map(rows.map((row) => [row.event_id, row.event_type]));
    for (const event of stored) expect(types.get(event.eventId), event.type.slice(0, 20)).toBe(event.type);
  });
});
