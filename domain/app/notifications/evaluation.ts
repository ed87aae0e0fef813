/**
 * Push rules over a run of room events (client-server-api/modules/push.md § Receiving
 * notifications): each event is evaluated with the push context as it stood when the event
 * arrived — the room's joined member count, the user's display name, the sender's power level and
 * the room's `notifications` levels — and the context then moves on with the event's own state
 * change. Pure: the callers load the events and the starting state.
 */
import { BoundedMap } from '../../boundedMap.ts';
import { powerLevelOf, stateLookupOf, type StateLookup } from '../../auth/index.ts';
import type { RoomEvent } from '../../events/index.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../json.ts';
import type { PushStateAt, StoredEvent } from '../../ports/rooms.ts';
import { evaluatePushRules, type EvaluableRuleset, type PushEvaluation } from '../../push/index.ts';
import { roomVersionRules, type RoomVersionRules } from '../../roomVersions/index.ts';

/** The push context of one user in one room at a point of its history. */
export interface PushRoomState {
  readonly joinedMembers: number;
  readonly displayName?: string;
  readonly powerLevels?: RoomEvent;
  readonly create?: RoomEvent;
}

export interface EvaluatedEvent {
  readonly event: StoredEvent;
  /** `main`, or the thread root the event belongs to. */
  readonly thread: string;
  readonly evaluation: PushEvaluation;
}

/** Spec: implementations are encouraged to follow at most 3 relations to find a thread. */
const MAX_THREAD_HOPS = 3;

const contentOf = (event: StoredEvent | undefined): JsonObject =>
  event !== undefined && isJsonObject(event.pdu.content) ? event.pdu.content : {};

/**
 * Power levels and create events by room, id, content hash and redaction, least recently used
 * dropped first. A remembered push state (sync/unread.ts keeps one per user and room) holds these
 * events: shared, a room's power levels (its `users` map may be large) are held once, not once per
 * member. An event without a content hash (not a stored PDU) is never shared.
 */
export const MAX_SHARED_STATE_EVENTS = 4_096;
const sharedStateEvents = new BoundedMap<string, RoomEvent>(MAX_SHARED_STATE_EVENTS);

/** The stored event as the power level helpers read it (they look at type, sender and content only). */
const roomEventOf = (event: StoredEvent | undefined): RoomEvent | undefined => {
  if (event === undefined) return undefined;
  const hashes = event.pdu.hashes;
  const hash = isJsonObject(hashes) && typeof hashes.sha256 === 'string' ? hashes.sha256 : undefined;
  // A redaction changes the stored content under the same id.
  const key = `${event.roomId}\u0000${event.eventId}\u0000${hash}\u0000${event.redactedBecause?.eventId ?? ''}`;
  let shared = hash === undefined ? undefined : sharedStateEvents.get(key);
  if (shared === undefined) {
    shared = {
      eventId: event.eventId, roomId: event.roomId, type: event.type, stateKey: event.stateKey ?? undefined, sender: event.sender,
      content: contentOf(event), originServerTs: event.originServerTs, depth: 0, prevEventIds: [], authEventIds: [], redacts: undefined,
      pdu: event.pdu,
    };
    if (hash === undefined) return shared;
  }
  sharedStateEvents.set(key, shared);
  return shared;
};

const displayNameOf = (member: StoredEvent | undefined): string | undefined => {
  const name = contentOf(member).displayname;
  return typeof name === 'string' ? name : undefined;
};

/** The starting context from the read model's state at an offset. */
export const pushRoomState = (state: PushStateAt): PushRoomState => {
  const displayName = displayNameOf(state.ownMember);
  const powerLevels = roomEventOf(state.powerLevels);
  const create = roomEventOf(state.create);
  return {
    joinedMembers: state.joinedMembers,
    ...(displayName === undefined ? {} : { displayName }),
    ...(powerLevels === undefined ? {} : { powerLevels }),
    ...(create === undefined ? {} : { create }),
  };
};

/** The state as changed by one event (membership count, own display name, power levels, creators). */
const evolve = (state: PushRoomState, event: StoredEvent, userId: string): PushRoomState => {
  if (event.stateKey === null) return state;
  switch (event.type) {
    case 'm.room.member': {
      const joined = (content: JsonObject | null): number => (content?.membership === 'join' ? 1 : 0);
      const joinedMembers = state.joinedMembers + joined(contentOf(event)) - joined(event.prevContent);
      if (event.stateKey !== userId) return { ...state, joinedMembers };
      const { displayName: _old, ...rest } = state;
      const displayName = displayNameOf(event);
      return { ...rest, joinedMembers, ...(displayName === undefined ? {} : { displayName }) };
    }
    case 'm.room.power_levels': return event.stateKey === '' ? { ...state, powerLevels: roomEventOf(event)! } : state;
    case 'm.room.create': return event.stateKey === '' ? { ...state, create: roomEventOf(event)! } : state;
    default: return state;
  }
};

const FALLBACK_RULES = roomVersionRules('1') as RoomVersionRules;

/** The `notifications` levels of the power levels, as integers (absent keys default to 50 in the evaluator). */
const notificationLevels = (powerLevels: RoomEvent | undefined): Record<string, number> => {
  const levels: Record<string, number> = {};
  const notifications: JsonValue | undefined = powerLevels?.content.notifications;
  if (!isJsonObject(notifications)) return levels;
  for (const [key, value] of Object.entries(notifications)) {
    const level = typeof value === 'number' ? value : typeof value === 'string' ? Number.parseInt(value, 10) : Number.NaN;
    if (Number.isFinite(level)) levels[key] = level;
  }
  return levels;
};

/** The client-format fields push rules match on (`type`, `content.*`, `sender`, `state_key`, …). */
const pushableEvent = (event: StoredEvent): JsonObject => ({
  event_id: event.eventId,
  room_id: event.roomId,
  type: event.type,
  sender: event.sender,
  origin_server_ts: event.originServerTs,
  content: contentOf(event),
  ...(event.stateKey === null ? {} : { state_key: event.stateKey }),
});

/** The relation of an event (`m.relates_to`); a rich reply's `m.in_reply_to` is no relation (as in Synapse). */
const relationOf = (event: StoredEvent): { relType: string | undefined; eventId: string } | undefined => {
  const relation = contentOf(event)['m.relates_to'];
  if (!isJsonObject(relation) || typeof relation.event_id !== 'string') return undefined;
  return { relType: typeof relation.rel_type === 'string' ? relation.rel_type : undefined, eventId: relation.event_id };
};

/**
 * The thread an event belongs to: an `m.thread` relation names its root; another relation (a
 * reaction, an edit) belongs to its target's thread, followed through `known` (the events read
 * with it; a target outside them counts as the main timeline).
 */
export const threadOf = (event: StoredEvent, known: ReadonlyMap<string, StoredEvent>): string => {
  let current: StoredEvent | undefined = event;
  for (let hop = 0; hop < MAX_THREAD_HOPS && current !== undefined; hop++) {
    const related = relationOf(current);
    if (related === undefined) return 'main';
    if (related.relType === 'm.thread') return related.eventId;
    current = known.get(related.eventId);
  }
  return 'main';
};

/** What the evaluator reads of a push state, worked out once per state (most events change none). */
interface StateContext {
  readonly lookup: StateLookup;
  readonly notificationPowerLevels: Record<string, number>;
}

/** Per PushRoomState (values: a change makes a new one); held weakly, as long as the state itself. */
const stateContexts = new WeakMap<PushRoomState, StateContext>();

const stateContextOf = (state: PushRoomState): StateContext => {
  let known = stateContexts.get(state);
  if (known === undefined) {
    known = {
      lookup: stateLookupOf([state.powerLevels, state.create].filter((e): e is RoomEvent => e !== undefined)),
      notificationPowerLevels: notificationLevels(state.powerLevels),
    };
    stateContexts.set(state, known);
  }
  return known;
};

/**
 * Evaluates `userId`'s rules over `events` (oldest first) from `state`. Redacted events are passed
 * over (their notification is withdrawn) but still move the state on. The user's own events
 * never notify (the evaluator's rule).
 */
export const evaluateEvents = (
  ruleset: EvaluableRuleset, userId: string, start: PushRoomState, events: readonly StoredEvent[],
): { readonly state: PushRoomState; readonly evaluated: EvaluatedEvent[] } => {
  let state = start;
  const known = new Map(events.map((event) => [event.eventId, event]));
  const evaluated: EvaluatedEvent[] = [];
  // Sender power levels while the state stays (`room version\0sender`): a run of messages asks the same few.
  let levelsOf: PushRoomState | undefined;
  const senderLevels = new Map<string, number>();
  for (const event of events) {
    if (event.redactedBecause === null && event.sender !== userId) {
      const context = stateContextOf(state);
      if (levelsOf !== state) {
        levelsOf = state;
        senderLevels.clear();
      }
      const levelKey = `${event.roomVersion}\u0000${event.sender}`;
      let senderPowerLevel = senderLevels.get(levelKey);
      if (senderPowerLevel === undefined) {
        senderPowerLevel = powerLevelOf(event.sender, context.lookup, roomVersionRules(event.roomVersion) ?? FALLBACK_RULES);
        senderLevels.set(levelKey, senderPowerLevel);
      }
      const evaluation = evaluatePushRules(ruleset, pushableEvent(event), {
        userId,
        ...(state.displayName === undefined ? {} : { displayName: state.displayName }),
        roomMemberCount: state.joinedMembers,
        senderPowerLevel,
        notificationPowerLevels: context.notificationPowerLevels,
      });
      evaluated.push({ event, thread: threadOf(event, known), evaluation });
    }
    state = evolve(state, event, userId);
  }
  return { state, evaluated };
};
