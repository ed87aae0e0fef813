/**
 * What the space hierarchy says about one room, from its current state (pure): the summary fields
 * of SpaceHierarchyRoomsChunk (room_summary.yaml plus `children_state`), the room's valid
 * `m.space.child` events in the spec's order, and whether a user may preview it.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { RoomInfo, StoredEvent } from '../../ports/rooms.ts';
import { roomVersionRules } from '../../roomVersions/index.ts';

export const SPACE_ROOM_TYPE = 'm.space';

export interface SpaceRoom {
  readonly info: RoomInfo;
  readonly state: readonly StoredEvent[];
}

const contentOf = (state: readonly StoredEvent[], type: string, stateKey = ''): JsonObject => {
  const content = state.find((event) => event.type === type && event.stateKey === stateKey)?.pdu.content;
  return isJsonObject(content) ? content : {};
};

const nonEmptyString = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The join rule; a room without m.room.join_rules is invite-only (as the auth rules read it). */
export const joinRuleIn = (state: readonly StoredEvent[]): string => {
  const rule = contentOf(state, 'm.room.join_rules').join_rule;
  return typeof rule === 'string' ? rule : 'invite';
};

/**
 * Room ids of the `m.room_membership` allow conditions, when the join rule is restricted or
 * knock_restricted in a room version that supports it (since v8 / v10), else none.
 */
export const allowedRoomIds = (room: SpaceRoom): string[] => {
  const rules = roomVersionRules(room.info.roomVersion);
  const joinRule = joinRuleIn(room.state);
  const restricted = (joinRule === 'restricted' && rules?.auth.restrictedJoins === true)
    || (joinRule === 'knock_restricted' && rules?.auth.knockRestrictedJoinRule === true);
  if (!restricted) return [];
  const allow = contentOf(room.state, 'm.room.join_rules').allow;
  return (Array.isArray(allow) ? allow : [])
    .filter((entry) => isJsonObject(entry) && entry.type === 'm.room_membership' && typeof entry.room_id === 'string')
    .map((entry) => (entry as JsonObject).room_id as string);
};

export const membershipIn = (state: readonly StoredEvent[], userId: string): string | undefined => {
  const membership = contentOf(state, 'm.room.member', userId).membership;
  return typeof membership === 'string' ? membership : undefined;
};

/**
 * space_hierarchy.yaml: a room is returned when the user is joined or invited, the join rule is
 * public, the room is knockable (knock since v7, knock_restricted since v10), its history is
 * world_readable, or it is restricted and the user is joined to one of the allowed rooms.
 * `joinedRooms` is asked only for that last case.
 */
export const mayPreview = async (room: SpaceRoom, userId: string, joinedRooms: () => Promise<ReadonlySet<string>>): Promise<boolean> => {
  const membership = membershipIn(room.state, userId);
  if (membership === 'join' || membership === 'invite') return true;
  const rules = roomVersionRules(room.info.roomVersion);
  const joinRule = joinRuleIn(room.state);
  if (joinRule === 'public') return true;
  if (joinRule === 'knock' && rules?.auth.knocking === true) return true;
  if (joinRule === 'knock_restricted' && rules?.auth.knockRestrictedJoinRule === true) return true;
  if (contentOf(room.state, 'm.room.history_visibility').history_visibility === 'world_readable') return true;
  const allowed = allowedRoomIds(room);
  if (allowed.length === 0) return false;
  const joined = await joinedRooms();
  return allowed.some((roomId) => joined.has(roomId));
};

/** Since v1.2 `order` counts only when it is 1–50 characters of printable ASCII (m.space.child). */
const orderOf = (content: JsonObject): string | undefined => {
  const order = content.order;
  return typeof order === 'string' && /^[\x20-\x7E]{1,50}$/.test(order) ? order : undefined;
};

/** `via` must be a non-empty array of server names; otherwise the child was removed (spaces.md). */
const hasValidVia = (content: JsonObject): boolean =>
  Array.isArray(content.via) && content.via.length > 0 && content.via.every((server) => typeof server === 'string');

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The room's `m.space.child` events that name a child, ordered as "Ordering of children within a
 * space" says: valid `order` first (by code point), then by origin_server_ts, then by room id.
 * Only a space (room type `m.space`) has children here, as in Synapse.
 */
export const spaceChildren = (room: SpaceRoom, suggestedOnly: boolean): StoredEvent[] => {
  if (room.info.roomType !== SPACE_ROOM_TYPE) return [];
  const children = room.state.filter((event) => {
    if (event.type !== 'm.space.child' || event.stateKey === null || event.stateKey === '') return false;
    const content = isJsonObject(event.pdu.content) ? event.pdu.content : {};
    return hasValidVia(content) && (!suggestedOnly || content.suggested === true);
  });
  const key = (event: StoredEvent) => orderOf(isJsonObject(event.pdu.content) ? event.pdu.content : {});
  return children.sort((a, b) => {
    const orderA = key(a);
    const orderB = key(b);
    if (orderA !== undefined && orderB === undefined) return -1;
    if (orderA === undefined && orderB !== undefined) return 1;
    if (orderA !== undefined && orderB !== undefined && orderA !== orderB) return compareStrings(orderA, orderB);
    if (a.originServerTs !== b.originServerTs) return a.originServerTs - b.originServerTs;
    return compareStrings(a.stateKey ?? '', b.stateKey ?? '');
  });
};

/** The fields room_summary.yaml and SpaceHierarchyRoomsChunk share, from the room's current state. */
export const roomSummaryFields = (room: SpaceRoom): JsonObject => {
  const { info, state } = room;
  const summary: JsonObject = {
    room_id: info.roomId,
    num_joined_members: state.filter((event) => event.type === 'm.room.member' && isJsonObject(event.pdu.content)
      && event.pdu.content.membership === 'join').length,
    world_readable: contentOf(state, 'm.room.history_visibility').history_visibility === 'world_readable',
    guest_can_join: contentOf(state, 'm.room.guest_access').guest_access === 'can_join',
    join_rule: joinRuleIn(state),
    room_version: info.roomVersion,
  };
  const optional: [string, string | undefined][] = [
    ['name', nonEmptyString(contentOf(state, 'm.room.name').name)],
    ['topic', nonEmptyString(contentOf(state, 'm.room.topic').topic)],
    ['avatar_url', nonEmptyString(contentOf(state, 'm.room.avatar').url)],
    ['canonical_alias', nonEmptyString(contentOf(state, 'm.room.canonical_alias').alias)],
    ['room_type', info.roomType ?? undefined],
    ['encryption', nonEmptyString(contentOf(state, 'm.room.encryption').algorithm)],
  ];
  for (const [key, value] of optional) if (value !== undefined) summary[key] = value;
  const allowed = allowedRoomIds(room);
  if (allowed.length > 0) summary.allowed_room_ids = allowed;
  return summary;
};

/** A SpaceHierarchyRoomsChunk: the room summary plus its children as stripped state with origin_server_ts. */
export const hierarchyChunk = (room: SpaceRoom, children: readonly StoredEvent[]): JsonObject => ({
  ...roomSummaryFields(room),
  children_state: children.map((event) => ({
    content: isJsonObject(event.pdu.content) ? event.pdu.content : {},
    origin_server_ts: event.originServerTs,
    sender: event.sender,
    state_key: event.stateKey ?? '',
    type: event.type,
  })),
});
