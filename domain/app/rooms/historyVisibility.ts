/**
 * History visibility per event (client-server-api § Room History Visibility, "Server behaviour"):
 * whether a user may see an event depends on the room's `history_visibility` and the user's
 * membership in the state *at that event*. Pure: the caller loads the room's visibility changes and
 * the user's membership changes (one statement) and gets back the offset ranges the user may see,
 * which the read model applies in SQL so pages and `limited` count only visible events.
 */
import type { OffsetRange, StateValueChange, VisibilityHistory } from '../../ports/rooms.ts';

export type HistoryVisibility = 'world_readable' | 'shared' | 'invited' | 'joined';

/** Most permissive first (Synapse's order, for "before *or* after" on m.room.history_visibility). */
const VISIBILITIES: readonly HistoryVisibility[] = ['world_readable', 'shared', 'invited', 'joined'];
/** Most joined first, for "before *or* after" on the user's own m.room.member events. */
const MEMBERSHIPS = ['join', 'invite', 'knock', 'leave', 'ban'] as const;

/** "If no `history_visibility` is set, or if the value is not understood, … assumed to be `shared`." */
export const historyVisibilityOf = (value: string | null | undefined): HistoryVisibility =>
  VISIBILITIES.find((known) => known === value) ?? 'shared';

const membershipOf = (value: string | null | undefined): string =>
  MEMBERSHIPS.find((known) => known === value) ?? 'leave';

const morePermissive = (a: HistoryVisibility, b: HistoryVisibility): HistoryVisibility =>
  (VISIBILITIES.indexOf(a) <= VISIBILITIES.indexOf(b) ? a : b);

const moreJoined = (a: string, b: string): string =>
  (MEMBERSHIPS.indexOf(a as never) <= MEMBERSHIPS.indexOf(b as never) ? a : b);

/** What decides one event's visibility for one user. */
export interface EventSituation {
  /** In force at the event (the state after it). */
  readonly visibility: HistoryVisibility;
  /** Set when the event is the m.room.history_visibility event: the value it replaced. */
  readonly previousVisibility?: HistoryVisibility;
  /** The user's membership at the event (after it); 'leave' when they have none. */
  readonly membership: string;
  /** Set when the event is the user's own m.room.member event: the membership it replaced. */
  readonly previousMembership?: string;
  /** The user joined the room at or after the event (spec rule 3 for `shared`). */
  readonly joinedLater: boolean;
}

/** The spec's five rules with its two "before *or* after" exceptions. */
export const maySeeEvent = (event: EventSituation): boolean => {
  const visibility = event.previousVisibility === undefined ? event.visibility : morePermissive(event.visibility, event.previousVisibility);
  let membership = event.membership;
  if (event.previousMembership !== undefined) {
    // The user's own leave (or rejected invite) is always shown, so the room can disappear (Synapse).
    if (membership === 'leave' && (event.previousMembership === 'join' || event.previousMembership === 'invite')) return true;
    membership = moreJoined(membership, event.previousMembership);
  }
  if (visibility === 'world_readable') return true;
  if (membership === 'join') return true;
  if (visibility === 'shared') return event.joinedLater;
  if (visibility === 'invited') return membership === 'invite';
  return false;
};

/** Below every position backfilled history can take (records.ts `pdu.backfilled`). */
export const BACKFILLED_FLOOR = -(2 ** 52);

/** The newest change at or below `offset` (changes are oldest first). */
const valueAt = (changes: readonly StateValueChange[], offset: number): StateValueChange | undefined =>
  changes.findLast((change) => change.offset <= offset);

const before = (changes: readonly StateValueChange[], offset: number): StateValueChange | undefined =>
  changes.findLast((change) => change.offset < offset);

/**
 * The offsets in [0, end) whose events the user may see, as ascending disjoint half-open ranges.
 * Visibility only changes at the offsets of the history's changes, so each change's own event is
 * judged on its own and the run of events up to the next change shares one answer.
 */
export const visibleRanges = (history: VisibilityHistory, end: number): OffsetRange[] => {
  const visibilities = history.historyVisibility.filter((change) => change.offset < end);
  const memberships = history.membership.filter((change) => change.offset < end);
  const lastJoin = memberships.findLast((change) => membershipOf(change.value) === 'join')?.offset ?? -1;
  const situation = (offset: number, atChange: boolean): EventSituation => {
    const visibility = historyVisibilityOf(valueAt(visibilities, offset)?.value);
    const membership = membershipOf(valueAt(memberships, offset)?.value);
    const base = { visibility, membership, joinedLater: membership === 'join' || lastJoin >= offset };
    if (!atChange) return base;
    const ownVisibility = visibilities.find((change) => change.offset === offset && change.atEvent);
    const ownMembership = memberships.find((change) => change.offset === offset && change.atEvent);
    return {
      ...base,
      ...(ownVisibility === undefined ? {} : { previousVisibility: historyVisibilityOf(before(visibilities, offset)?.value) }),
      ...(ownMembership === undefined ? {} : { previousMembership: membershipOf(before(memberships, offset)?.value) }),
    };
  };

  const ranges: OffsetRange[] = [];
  const add = (from: number, to: number): void => {
    if (from >= to) return;
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.to === from) ranges[ranges.length - 1] = { from: last.from, to };
    else ranges.push({ from, to });
  };
  // History backfilled from other servers (offsets below 0) predates everything we hold: judged by
  // the room's earliest visibility we know, the user not in the room then.
  if (maySeeEvent({ visibility: historyVisibilityOf(visibilities[0]?.value), membership: 'leave', joinedLater: lastJoin >= 0 })) {
    add(BACKFILLED_FLOOR, 0);
  }
  const boundaries = [...new Set([...visibilities, ...memberships].map((change) => change.offset))].sort((a, b) => a - b);
  let cursor = 0;
  for (const boundary of boundaries) {
    // Events before this change: the state after the previous one.
    if (cursor < boundary && maySeeEvent(situation(cursor, false))) add(cursor, boundary);
    if (maySeeEvent(situation(boundary, true))) add(boundary, boundary + 1);
    cursor = boundary + 1;
  }
  if (cursor < end && maySeeEvent(situation(cursor, false))) add(cursor, end);
  return ranges;
};

export const inRanges = (ranges: readonly OffsetRange[], offset: number): boolean =>
  ranges.some((range) => offset >= range.from && offset < range.to);

/** Ranges cut to [from, to). */
export const clipRanges = (ranges: readonly OffsetRange[], from: number, to: number): OffsetRange[] =>
  ranges.flatMap((range) => {
    const clipped = { from: Math.max(range.from, from), to: Math.min(range.to, to) };
    return clipped.from < clipped.to ? [clipped] : [];
  });
