import type { RoomEvent } from '../events/index.ts';
import { MinHeap, compareEventIds } from './heap.ts';
import type { EventLoader } from './types.ts';

/** The tie-break facts of an event for the reverse topological power ordering. */
export interface PowerSortKey {
  readonly powerLevel: number;
  readonly originServerTs: number;
  readonly eventId: string;
}

/**
 * "x < y if x's sender has greater power level than y's sender; or the same power level and x's
 * origin_server_ts is less; or both the same and x's event_id is less."
 */
export const powerOrderLess = (x: PowerSortKey, y: PowerSortKey): boolean => {
  if (x.powerLevel !== y.powerLevel) return x.powerLevel > y.powerLevel;
  if (x.originServerTs !== y.originServerTs) return x.originServerTs < y.originServerTs;
  return compareEventIds(x.eventId, y.eventId) < 0;
};

/**
 * "Reverse topological power ordering": the lexicographically smallest topological ordering of the
 * auth DAG over `eventIds`, earliest first — Kahn's algorithm, taking the smallest candidate (by
 * `powerOrderLess`) at each step from a heap.
 *
 * `authParentsOf(id)` names the events of the set that `id` descends from through auth_events
 * (direct or transitive edges give the same orderings); ids outside the set are ignored.
 */
export const reverseTopologicalPowerOrdering = (
  eventIds: Iterable<string>,
  authParentsOf: (eventId: string) => Iterable<string>,
  sortKeyOf: (eventId: string) => PowerSortKey,
): string[] => {
  const nodes = new Set(eventIds);
  const children = new Map<string, string[]>();
  const waitingOn = new Map<string, number>();
  for (const id of nodes) {
    let count = 0;
    for (const parent of new Set(authParentsOf(id))) {
      if (parent === id || !nodes.has(parent)) continue;
      count += 1;
      const list = children.get(parent);
      if (list === undefined) children.set(parent, [id]);
      else list.push(id);
    }
    waitingOn.set(id, count);
  }
  const heap = new MinHeap<PowerSortKey>(powerOrderLess);
  for (const [id, count] of waitingOn) if (count === 0) heap.push(sortKeyOf(id));
  const sorted: string[] = [];
  for (let next = heap.pop(); next !== undefined; next = heap.pop()) {
    sorted.push(next.eventId);
    for (const child of children.get(next.eventId) ?? []) {
      const left = (waitingOn.get(child) as number) - 1;
      waitingOn.set(child, left);
      if (left === 0) heap.push(sortKeyOf(child));
    }
  }
  // Events on an auth cycle (impossible in a valid room) never become candidates; they are left out.
  return sorted;
};

const isPowerLevels = (event: RoomEvent | undefined): boolean =>
  event !== undefined && event.type === 'm.room.power_levels' && event.stateKey === '';

/** "The m.room.power_levels event in the auth_events of" an event, if it cites one. */
export const powerLevelsAuthEvent = (event: RoomEvent, getEvent: EventLoader): RoomEvent | undefined => {
  for (const id of event.authEventIds) {
    const authEvent = getEvent(id);
    if (isPowerLevels(authEvent)) return authEvent;
  }
  return undefined;
};

/** "The mainline of P_0 is the list of events [P_0, P_1, …, P_n]". */
export const mainlineOf = (powerLevelsEventId: string | undefined, getEvent: EventLoader): string[] => {
  const mainline: string[] = [];
  const seen = new Set<string>();
  for (let event = powerLevelsEventId === undefined ? undefined : getEvent(powerLevelsEventId); event !== undefined; ) {
    if (seen.has(event.eventId)) break;
    seen.add(event.eventId);
    mainline.push(event.eventId);
    event = powerLevelsAuthEvent(event, getEvent);
  }
  return mainline;
};

/**
 * Mainline positions against the mainline of P: "the smallest j ≥ 1 for which e_j belongs to the
 * mainline of P" gives e_j = P_i and position i; none gives ∞. Positions of the power levels events
 * walked are memoised, so a set of events sharing ancestry costs one walk.
 */
export const mainlinePositions = (powerLevelsEventId: string | undefined, getEvent: EventLoader) => {
  const index = new Map(mainlineOf(powerLevelsEventId, getEvent).map((id, i) => [id, i]));
  const memo = new Map<string, number>();
  /** Position of the chain starting at power levels event `start` (start included). */
  const fromPowerLevels = (start: RoomEvent): number => {
    const walked = new Set<RoomEvent>();
    let position = Infinity;
    for (let event: RoomEvent | undefined = start; event !== undefined; event = powerLevelsAuthEvent(event, getEvent)) {
      const known = index.get(event.eventId) ?? memo.get(event.eventId);
      if (known !== undefined) {
        position = known;
        break;
      }
      if (walked.has(event)) break;
      walked.add(event);
    }
    for (const event of walked) memo.set(event.eventId, position);
    return position;
  };
  return (event: RoomEvent): number => {
    const first = powerLevelsAuthEvent(event, getEvent);
    return first === undefined ? Infinity : fromPowerLevels(first);
  };
};

/**
 * "Mainline ordering based on P": x < y if x's mainline position is greater; then smaller
 * origin_server_ts; then smaller event_id. Unloadable events are dropped.
 */
export const mainlineOrdering = (
  eventIds: Iterable<string>,
  powerLevelsEventId: string | undefined,
  getEvent: EventLoader,
): string[] => {
  const positionOf = mainlinePositions(powerLevelsEventId, getEvent);
  const keyed: { event: RoomEvent; position: number }[] = [];
  for (const id of eventIds) {
    const event = getEvent(id);
    if (event !== undefined) keyed.push({ event, position: positionOf(event) });
  }
  keyed.sort((x, y) => {
    if (x.position !== y.position) return x.position > y.position ? -1 : 1;
    if (x.event.originServerTs !== y.event.originServerTs) return x.event.originServerTs - y.event.originServerTs;
    return compareEventIds(x.event.eventId, y.event.eventId);
  });
  return keyed.map(({ event }) => event.eventId);
};
