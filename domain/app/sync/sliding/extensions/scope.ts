/**
 * Which rooms a room-scoped extension (account data, receipts, typing) answers for: only rooms of
 * this response's lists and room subscriptions, narrowed by its `lists` and `rooms` (`*`: all of
 * them), as Synapse's `find_relevant_room_ids_for_extension`. A name that matches no list or
 * subscription of the response adds nothing.
 */
import type { ExtensionScope } from './config.ts';

/** The rooms of this response: each list's window, and the subscribed rooms. */
export interface RoomsInScope {
  readonly lists: Readonly<Record<string, readonly string[]>>;
  readonly subscriptions: readonly string[];
}

export const roomsForExtension = (scope: ExtensionScope, rooms: RoomsInScope): string[] => {
  const relevant = new Set<string>();
  const subscribed = new Set(rooms.subscriptions);
  if (scope.rooms.includes('*')) for (const roomId of subscribed) relevant.add(roomId);
  else for (const roomId of scope.rooms) if (subscribed.has(roomId)) relevant.add(roomId);
  const listNames = scope.lists.includes('*') ? Object.keys(rooms.lists) : scope.lists;
  for (const name of listNames) {
    if (!Object.hasOwn(rooms.lists, name)) continue;
    for (const roomId of rooms.lists[name]!) relevant.add(roomId);
  }
  return [...relevant];
};
