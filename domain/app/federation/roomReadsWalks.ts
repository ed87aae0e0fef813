/**
 * The two backward walks of the room DAG other servers ask for, as pure functions over a callback
 * that fetches DAG positions (`GraphNode`) by id, so they are tested over in-memory graphs. Both
 * follow `prev_events` only as far as this server holds the events, only inside the asked room,
 * and never name an event they did not find (outliers reached through `prev_events` count: they
 * are held events of the room). Rejected events are never held, so never found.
 */
import type { GraphNode } from '../../ports/roomEvents.ts';

export type FetchNodes = (eventIds: readonly string[]) => Promise<readonly GraphNode[]>;

/** Newest first in the DAG's order: greater depth, then later in the log. */
const newerFirst = (a: GraphNode, b: GraphNode): number => b.depth - a.depth || b.offset - a.offset;

/** Held events of `roomId` among `eventIds`, by id. */
const fetchInRoom = async (fetch: FetchNodes, roomId: string, eventIds: readonly string[]): Promise<Map<string, GraphNode>> => {
  if (eventIds.length === 0) return new Map();
  const nodes = await fetch(eventIds);
  return new Map(nodes.filter((node) => node.roomId === roomId).map((node) => [node.eventId, node]));
};

/**
 * GET /backfill (backfill.yaml): up to `limit` events, the `v` events included, walking
 * `prev_events` breadth-first by depth as Synapse does (`_get_backfill_events`): a priority queue
 * of the deepest (then latest) event not yet taken, seeded with the `v` events. Answered newest
 * first, as Synapse sorts them (depth, then stream order, descending).
 */
export const backfillWalk = async (
  roomId: string, seeds: readonly string[], limit: number, fetch: FetchNodes,
): Promise<GraphNode[]> => {
  const known = await fetchInRoom(fetch, roomId, seeds);
  const queue: GraphNode[] = [...known.values()];
  const taken = new Map<string, GraphNode>();
  while (queue.length > 0 && taken.size < limit) {
    queue.sort(newerFirst);
    const node = queue.shift()!;
    if (taken.has(node.eventId)) continue;
    taken.set(node.eventId, node);
    const unknown = node.prevEventIds.filter((id) => !taken.has(id) && !known.has(id));
    for (const [id, prev] of await fetchInRoom(fetch, roomId, unknown)) known.set(id, prev);
    for (const id of node.prevEventIds) {
      const prev = known.get(id);
      if (prev !== undefined && !taken.has(id)) queue.push(prev);
    }
  }
  return [...taken.values()].sort(newerFirst);
};

/**
 * POST /get_missing_events (events.yaml): the ancestors of `latest` (not `latest` themselves),
 * walked back through `prev_events` level by level, never past or into `earliest` (events the
 * asker already has), nor below `minDepth`; up to `limit` events. As Synapse
 * (`_get_missing_events`) the walk collects newest first and answers reversed, so the events come
 * roughly oldest first; within a level the newest are taken first, so a limit keeps those
 * nearest `latest`.
 */
export const missingEventsWalk = async (
  roomId: string, earliest: readonly string[], latest: readonly string[], limit: number, minDepth: number, fetch: FetchNodes,
): Promise<GraphNode[]> => {
  const seen = new Set(earliest);
  let front = [...(await fetchInRoom(fetch, roomId, latest.filter((id) => !seen.has(id)))).values()];
  const found: GraphNode[] = [];
  while (front.length > 0 && found.length < limit) {
    const wanted = [...new Set(front.flatMap((node) => node.prevEventIds))].filter((id) => !seen.has(id));
    const parents = [...(await fetchInRoom(fetch, roomId, wanted)).values()]
      .filter((node) => node.depth >= minDepth)
      .sort(newerFirst);
    const next: GraphNode[] = [];
    for (const parent of parents) {
      if (found.length >= limit) break;
      seen.add(parent.eventId);
      found.push(parent);
      next.push(parent);
    }
    front = next;
  }
  return found.reverse();
};
