/**
 * A sliding sync answer in its wire form:
 * - `unstable`, as Synapse serialises it: `timeline`, `invite_state` (knocks too), lists with their
 *   `ops` (a `SYNC` per range), `unstable_expanded_timeline`, `is_dm` only when true, counts always,
 *   no `membership` or `lists` per room, no stubs for removed state (clients of that form read none).
 * - `v4` (MSC4186 as merged): `timeline_events`, `stripped_state`, `expanded_timeline`, `membership`
 *   and `lists` per room, `name`/`avatar` null when removed, `{ type, state_key }` stubs.
 */
import type { JsonObject } from '../../../json.ts';
import type { SlidingSyncForm } from './request.ts';
import type { SlidingRoomAnswer, SlidingSyncAnswer } from './types.ts';

const heroes = (room: SlidingRoomAnswer): JsonObject[] | undefined =>
  room.heroes?.map((hero) => ({
    user_id: hero.userId,
    ...(hero.displayname === undefined ? {} : { displayname: hero.displayname }),
    ...(hero.avatarUrl === undefined ? {} : { avatar_url: hero.avatarUrl }),
  }));

const defined = (entries: [string, unknown][]): JsonObject =>
  Object.fromEntries(entries.filter(([, value]) => value !== undefined)) as JsonObject;

const unstableRoom = (room: SlidingRoomAnswer): JsonObject => {
  const stripped = room.strippedState !== undefined;
  const requiredState = room.requiredState?.filter((event) => 'content' in event);
  return defined([
    ['notification_count', room.notificationCount ?? 0],
    ['highlight_count', room.highlightCount ?? 0],
    ['bump_stamp', room.bumpStamp],
    ['joined_count', room.joinedCount],
    ['invited_count', room.invitedCount],
    ['name', room.name ?? undefined],
    ['avatar', room.avatar ?? undefined],
    ['heroes', room.heroes !== undefined && room.heroes.length > 0 ? heroes(room) : undefined],
    ['initial', room.initial === true ? true : undefined],
    ['unstable_expanded_timeline', room.expandedTimeline === true ? true : undefined],
    ['required_state', requiredState !== undefined && requiredState.length > 0 ? requiredState : undefined],
    ['timeline', room.timeline !== undefined && room.timeline.length > 0 ? room.timeline : undefined],
    ['limited', stripped ? undefined : room.limited],
    ['prev_batch', stripped ? undefined : room.prevBatch],
    ['num_live', stripped ? undefined : room.numLive],
    ['is_dm', room.isDm === true ? true : undefined],
    ['invite_state', stripped && room.strippedState!.length > 0 ? room.strippedState : undefined],
  ]);
};

const v4Room = (room: SlidingRoomAnswer): JsonObject => defined([
  ['membership', room.membership],
  ['lists', room.lists],
  ['bump_stamp', room.bumpStamp],
  ['name', room.name],
  ['avatar', room.avatar],
  ['heroes', room.heroes !== undefined && room.heroes.length > 0 ? heroes(room) : undefined],
  ['is_dm', room.isDm],
  ['initial', room.initial === true ? true : undefined],
  ['expanded_timeline', room.expandedTimeline === true ? true : undefined],
  ['required_state', room.requiredState !== undefined && room.requiredState.length > 0 ? room.requiredState : undefined],
  ['timeline_events', room.timeline !== undefined && room.timeline.length > 0 ? room.timeline : undefined],
  ['prev_batch', room.prevBatch],
  ['limited', room.limited],
  ['num_live', room.numLive],
  ['joined_count', room.joinedCount],
  ['invited_count', room.invitedCount],
  ['notification_count', room.notificationCount],
  ['highlight_count', room.highlightCount],
  ['stripped_state', room.strippedState],
]);

export const renderSlidingSync = (form: SlidingSyncForm, answer: SlidingSyncAnswer): JsonObject => {
  const render = form === 'v4' ? v4Room : unstableRoom;
  const rooms = Object.fromEntries(Object.entries(answer.rooms).map(([roomId, room]) => [roomId, render(room)]));
  const lists: JsonObject = Object.fromEntries(Object.entries(answer.lists).map(([name, list]): [string, JsonObject] => [name, form === 'v4'
    ? { count: list.count }
    : { count: list.count, ops: list.ranges.map(({ range, roomIds }) => ({ op: 'SYNC', range: [...range], room_ids: [...roomIds] })) }]));
  return {
    pos: answer.pos,
    ...(Object.keys(lists).length === 0 ? {} : { lists }),
    rooms,
    extensions: answer.extensions,
  };
};
