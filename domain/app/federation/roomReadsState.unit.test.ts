import { describe, expect, it } from 'vitest';
import { stateKeyOf, type StateMap } from '../../events/index.ts';
import type { JsonObject } from '../../json.ts';
import type { RoomEventGraph } from '../../ports/roomEvents.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import { stateBeforeEvent } from './roomReadsState.ts';

const ROOM = '!r:x';
const A = '@a:x';

/** A v10 event as stored: the PDU in its wire format, plus the read model's columns. */
const stored = (
  eventId: string, type: string, stateKey: string | null, content: JsonObject, prev: string[], auth: string[], ts: number,
  replacesState: string | null = null,
): StoredEvent => ({
  eventId, roomId: ROOM, roomVersion: '10', partition: 0, offset: ts, type, stateKey, sender: A, originServerTs: ts,
  pdu: {
    room_id: ROOM, type, sender: A, content, prev_events: prev, auth_events: auth, depth: ts, origin_server_ts: ts,
    ...(stateKey === null ? {} : { state_key: stateKey }),
  },
  redactedBecause: null, local: null, replacesState, prevContent: null,
});

const create = stored('$c', 'm.room.create', '', { creator: A, room_version: '10' }, [], [], 1);
const join = stored('$m', 'm.room.member', A, { membership: 'join' }, ['$c'], ['$c'], 2);
const power = stored('$pl', 'm.room.power_levels', '', { users: { [A]: 100 } }, ['$m'], ['$c', '$m'], 3);
const rules = stored('$jr', 'm.room.join_rules', '', { join_rule: 'public' }, ['$pl'], ['$c', '$m', '$pl'], 4);
const auth = ['$c', '$m', '$pl'];
// Two forks each set the topic; $t3 merges them (and the room's state happened to hold $t1 before it).
const topic1 = stored('$t1', 'm.room.topic', '', { topic: 'one' }, ['$jr'], auth, 5);
const topic2 = stored('$t2', 'm.room.topic', '', { topic: 'two' }, ['$jr'], auth, 6);
const topic3 = stored('$t3', 'm.room.topic', '', { topic: 'three' }, ['$t1', '$t2'], auth, 7, '$t1');
const message = stored('$msg', 'm.room.message', null, { body: 'hi' }, ['$t3'], auth, 8);
const joined = stored('$late', 'm.room.name', '', { name: 'n' }, ['$remote'], auth, 9, '$oldname');
const all = [create, join, power, rules, topic1, topic2, topic3, message, joined];

const TOPIC = stateKeyOf('m.room.topic', '');
const base: [string, string][] = [
  [stateKeyOf('m.room.create', ''), '$c'], [stateKeyOf('m.room.member', A), '$m'],
  [stateKeyOf('m.room.power_levels', ''), '$pl'], [stateKeyOf('m.room.join_rules', ''), '$jr'],
];
const withTopic = (id: string | undefined): StateMap => new Map([...base, ...(id === undefined ? [] : [[TOPIC, id] as [string, string]])]);
const NAME = stateKeyOf('m.room.name', '');

const stateAfter = new Map<string, StateMap>([
  ['$jr', withTopic(undefined)], ['$t1', withTopic('$t1')], ['$t2', withTopic('$t2')], ['$t3', withTopic('$t3')],
  ['$msg', withTopic('$t3')], ['$late', new Map([...withTopic('$t3'), [NAME, '$late']])],
  ['$c', new Map([[stateKeyOf('m.room.create', ''), '$c']])],
]);

const graph = (): Pick<RoomEventGraph, 'stateAfterEvent' | 'eventsByIds' | 'authChainIds'> & { resolutions: number } => {
  const byId = new Map(all.map((event) => [event.eventId, event]));
  const fake = {
    resolutions: 0,
    stateAfterEvent: async (id: string) => stateAfter.get(id),
    eventsByIds: async (ids: readonly string[]) => ids.flatMap((id) => byId.get(id) ?? []),
    authChainIds: async (_roomId: string, ids: readonly string[]) => {
      fake.resolutions += 1;
      const chain = new Set<string>();
      const stack = ids.flatMap((id) => byId.get(id)?.pdu.auth_events as string[] ?? []);
      while (stack.length > 0) {
        const id = stack.pop()!;
        if (chain.has(id)) continue;
        chain.add(id);
        stack.push(...(byId.get(id)?.pdu.auth_events as string[] ?? []));
      }
      return [...chain];
    },
  };
  return fake;
};

describe('stateBeforeEvent', () => {
  it('is the state after the event for an event that is not state', async () => {
    expect(await stateBeforeEvent(graph(), message)).toEqual(withTopic('$t3'));
  });

  it('takes the event\'s own key from its prev event\'s state', async () => {
    const fake = graph();
    expect(await stateBeforeEvent(fake, topic1)).toEqual(withTopic(undefined));
    expect(fake.resolutions).toBe(0);
  });

  it('resolves the prev events\' states when they disagree on the key, whatever the room state held', async () => {
    const fake = graph();
    // v2: neither topic is a power event; same mainline position, so the later one ($t2) is applied last.
    expect(await stateBeforeEvent(fake, topic3)).toEqual(withTopic('$t2'));
    expect(fake.resolutions).toBe(1);
  });

  it('has nothing before the create event', async () => {
    expect(await stateBeforeEvent(graph(), create)).toEqual(new Map());
  });

  it('falls back to the state the event replaced when its prev events are not in our DAG', async () => {
    expect(await stateBeforeEvent(graph(), joined)).toEqual(new Map([...withTopic('$t3'), [NAME, '$oldname']]));
  });

  it('answers undefined for an event the read model holds no state for (an outlier)', async () => {
    const outlier = stored('$out', 'm.room.name', '', { name: 'x' }, [], auth, 10);
    expect(await stateBeforeEvent(graph(), outlier)).toBeUndefined();
  });
});
