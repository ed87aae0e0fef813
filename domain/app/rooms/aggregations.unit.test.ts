import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import type { RelationAggregation, RelationParent, RelationsReadModel, StoredEvent, VisibleRange } from '../../ports/rooms.ts';
import { bundleAggregations } from './aggregations.ts';
import type { RoomModulesContext } from './modulesContext.ts';

const stored = (eventId: string, content: JsonObject = { body: eventId }): StoredEvent => ({
  eventId, roomId: '!r', roomVersion: '12', partition: 0, offset: 1, type: 'm.room.message', stateKey: null,
  sender: '@a:x', originServerTs: 1000, pdu: { type: 'm.room.message', content }, redactedBecause: null,
  local: null, replacesState: null, prevContent: null,
});
const event = (eventId: string, extra: JsonObject = {}): JsonObject =>
  ({ event_id: eventId, sender: '@a:x', type: 'm.room.message', room_id: '!r', content: {}, unsigned: { age: 1 }, ...extra });

/**
 * A RelationsReadModel answering from a table (an event has children when it has an entry),
 * recording each probe and batch it is asked for and the ranges the batches were given.
 */
const recording = (table: Record<string, RelationAggregation>) => {
  const batches: RelationParent[][] = [];
  const probes: string[][] = [];
  const ranges: VisibleRange[] = [];
  const relations: Pick<RelationsReadModel, 'aggregations' | 'parentsWithChildren'> = {
    aggregations: async (_room: string, parents: readonly RelationParent[], _viewer: string, range: VisibleRange) => {
      batches.push([...parents]);
      ranges.push(range);
      return new Map(parents.flatMap((p) => (table[p.eventId] === undefined ? [] : [[p.eventId, table[p.eventId]!] as const])));
    },
    parentsWithChildren: async (_room: string, eventIds: readonly string[]) => {
      probes.push([...eventIds]);
      return new Set(eventIds.filter((id) => table[id] !== undefined));
    },
  };
  const ctx = { relations, clock: { now: () => 2000 } } as unknown as RoomModulesContext;
  return { ctx, batches, probes, ranges };
};

describe('bundleAggregations', () => {
  it('probes the page, asks for one batch of the events with children and one for the thread latest events, and nests them', async () => {
    const latest = stored('$latest', { body: 'reply', 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } });
    const { ctx, batches, probes } = recording({
      $root: { thread: { latest, count: 3, participated: false }, references: ['$ref'] },
      $latest: { replace: stored('$edit') },
    });
    const page = [event('$root'), event('$plain')];
    await bundleAggregations(ctx, { userId: '@v:x', deviceId: 'D' }, '!r', page, {});
    expect(probes).toEqual([['$root', '$plain'], ['$latest']]);
    expect(batches.map((batch) => batch.map((p) => p.eventId))).toEqual([['$root'], ['$latest']]);
    expect(page[0]!.unsigned).toMatchObject({
      age: 1,
      'm.relations': {
        'm.thread': { count: 3, current_user_participated: false, latest_event: { event_id: '$latest', unsigned: { 'm.relations': { 'm.replace': { event_id: '$edit' } } } } },
        'm.reference': { chunk: [{ event_id: '$ref' }] },
      },
    });
    expect(page[1]!.unsigned).toEqual({ age: 1 });
  });

  it('leaves out state events, edits and reactions; a related event cannot be a thread root; a redacted one takes no edits', async () => {
    const children = { references: ['$child'] };
    const { ctx, batches } = recording({ $state: children, $edit: children, $reaction: children, $reply: children, $redacted: children });
    await bundleAggregations(ctx, { userId: '@v:x', deviceId: null }, '!r', [
      event('$state', { state_key: '' }),
      event('$edit', { content: { 'm.relates_to': { rel_type: 'm.replace', event_id: '$x' } } }),
      event('$reaction', { type: 'm.reaction', content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$x', key: 'k' } } }),
      event('$reply', { content: { 'm.relates_to': { rel_type: 'm.thread', event_id: '$x' } } }),
      event('$redacted', { unsigned: { redacted_because: {} } }),
      event('$other-room', { room_id: '!elsewhere' }),
    ], {});
    expect(batches).toEqual([[
      { eventId: '$reply', sender: '@a:x', type: 'm.room.message', editable: true, threadable: false },
      { eventId: '$redacted', sender: '@a:x', type: 'm.room.message', editable: false, threadable: true },
    ]]);
  });

  it('costs one probe and no visibility lookup when no event of the page has children', async () => {
    const { ctx, batches, probes } = recording({});
    let lookups = 0;
    const range = async (): Promise<VisibleRange> => {
      lookups++;
      return { visible: [] };
    };
    await bundleAggregations(ctx, { userId: '@v:x', deviceId: 'D' }, '!r', [event('$a'), event('$b'), event('$a')], range);
    expect({ probes, batches, lookups }).toEqual({ probes: [['$a', '$b']], batches: [], lookups: 0 });
  });

  it('probes only the events whose children the read that loaded them did not say, and trusts what it said', async () => {
    const children = { references: ['$child'] };
    const { ctx, batches, probes } = recording({ $root: children, $unsaid: children });
    const page = [event('$root'), event('$plain'), event('$unsaid')];
    await bundleAggregations(ctx, { userId: '@v:x', deviceId: 'D' }, '!r', page, {}, new Map([['$root', true], ['$plain', false]]));
    expect(probes).toEqual([['$unsaid']]);
    expect(batches.map((batch) => batch.map((p) => p.eventId))).toEqual([['$root', '$unsaid']]);

    const known = recording({});
    await bundleAggregations(known.ctx, { userId: '@v:x', deviceId: 'D' }, '!r', [event('$a'), event('$b')], {}, new Map([['$a', false], ['$b', false]]));
    expect({ probes: known.probes, batches: known.batches }).toEqual({ probes: [], batches: [] });
  });

  it('looks the visible ranges up once, when some event has children, for the page and its thread latest events', async () => {
    const latest = stored('$latest', { 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } });
    const { ctx, ranges } = recording({ $root: { thread: { latest, count: 1, participated: true } }, $latest: { references: ['$r'] } });
    let lookups = 0;
    const visible = { visible: [{ from: 3, to: 9 }] };
    await bundleAggregations(ctx, { userId: '@v:x', deviceId: 'D' }, '!r', [event('$root')], async () => {
      lookups++;
      return visible;
    });
    expect({ lookups, ranges }).toEqual({ lookups: 1, ranges: [visible, visible] });
  });

  it("asks for the aggregations without the non-state children of the users the viewer ignores", async () => {
    const latest = stored('$latest', { 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } });
    const { ctx, ranges } = recording({ $root: { thread: { latest, count: 1, participated: false } }, $latest: { references: ['$r'] } });
    const asked: string[] = [];
    const preferences = { ignoredUsers: async (userId: string) => { asked.push(userId); return new Set(['@eve:x']); }, blocksInvites: async () => false };
    await bundleAggregations({ ...ctx, preferences }, { userId: '@v:x', deviceId: 'D' }, '!r', [event('$root')], { visible: [{ from: 0, to: 9 }] });
    const counted = { visible: [{ from: 0, to: 9 }], ignoredSenders: ['@eve:x'] };
    expect({ asked, ranges }).toEqual({ asked: ['@v:x'], ranges: [counted, counted] });
  });
});
