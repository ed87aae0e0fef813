/**
 * Test fixture: two rooms with every kind of record the analytics view cares about, built by the
 * real decider. Room ids and an event type carry quotes and backslashes; every message body holds
 * SECRET_MARKER so tests can prove no body reaches ClickHouse.
 */
import type { EventRecord } from '../../../domain/index.ts';
import { TestRoom } from './testRooms.ts';

export const SECRET_MARKER = 'SECRET-BODY';
export const TRICKY_ROOM_ID = `!it's\\a"room\\':a.test`;
export const PLAIN_ROOM_ID = '!plain:a.test';
export const TRICKY_TYPE = `com.example.it's\\"odd\\'`;
/** 2024-03-01T10:00:00Z. */
export const SCENARIO_START = Date.UTC(2024, 2, 1, 10);

export interface Scenario {
  readonly tricky: TestRoom;
  readonly plain: TestRoom;
  /** Every record, each room's in order (the rooms interleaved). */
  readonly records: EventRecord[];
}

const text = (n: string) => ({ msgtype: 'm.text', body: `${SECRET_MARKER} ${n} it's "quoted" \\ back` });

export const buildScenario = (): Scenario => {
  const alice = '@alice:a.test';
  const bob = '@bob:a.test';
  const carol = '@carol:b.test';

  // One event a minute, all inside the 10:00 hour.
  const tricky = new TestRoom(SCENARIO_START);
  tricky.create(TRICKY_ROOM_ID, alice, [bob]);
  for (let i = 0; i < 4; i++) tricky.send(alice, 'm.room.message', text(`alice ${i}`));
  const bobsFirst = tricky.send(bob, 'm.room.message', text('bob 0'));
  tricky.send(bob, 'm.room.message', text('bob 1'));
  tricky.send(bob, TRICKY_TYPE, { body: `${SECRET_MARKER} odd` });
  tricky.send(alice, 'm.room.redaction', { reason: `${SECRET_MARKER} reason` }, { redacts: bobsFirst.eventId });

  // One event every 5 hours: crosses hours and a day boundary.
  const plain = new TestRoom(SCENARIO_START);
  plain.step = 5 * 3_600_000;
  plain.create(PLAIN_ROOM_ID, alice);
  for (let i = 0; i < 3; i++) plain.send(alice, 'm.room.message', text(`plain ${i}`));
  plain.ingest(plain.remote({ type: 'm.room.member', stateKey: carol, sender: carol, content: { membership: 'join' } }));
  const beforeBan = [...plain.state.forwardExtremities];
  // Not a member: rejected.
  plain.ingest(plain.remote({ type: 'm.room.message', sender: '@dave:b.test', content: text('dave') }));
  plain.send(alice, 'm.room.member', { membership: 'ban' }, { stateKey: carol });
  // Fine by the DAG before the ban, not by the current state: soft-failed.
  plain.ingest(plain.remote({ type: 'm.room.message', sender: carol, content: text('carol late') }, beforeBan));

  const records: EventRecord[] = [];
  const longest = Math.max(tricky.records.length, plain.records.length);
  for (let i = 0; i < longest; i++) {
    if (i < tricky.records.length) records.push(tricky.records[i]!);
    if (i < plain.records.length) records.push(plain.records[i]!);
  }
  return { tricky, plain, records };
};
