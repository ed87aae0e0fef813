import { describe, expect, it } from 'vitest';
import type { GraphNode } from '../../ports/roomEvents.ts';
import { backfillWalk, missingEventsWalk, type FetchNodes } from './roomReadsWalks.ts';

const ROOM = '!r:x';

/**
 * A linear history $1 … $5, then a fork ($a6 and $b6 both on $5), merged by $7, then $8; $o is an
 * outlier $b6 cites; $foreign is another room's event $8 (wrongly) cites; $gone is never held.
 */
const node = (eventId: string, depth: number, offset: number, prevEventIds: string[], extra: Partial<GraphNode> = {}): GraphNode =>
  ({ eventId, roomId: ROOM, depth, offset, outlier: false, prevEventIds, ...extra });
const nodes: GraphNode[] = [
  node('$1', 1, 0, []),
  node('$2', 2, 1, ['$1']),
  node('$3', 3, 2, ['$2']),
  node('$4', 4, 3, ['$3']),
  node('$5', 5, 4, ['$4']),
  node('$a6', 6, 5, ['$5']),
  node('$b6', 6, 6, ['$5', '$o']),
  node('$o', 2, 9, [], { outlier: true }),
  node('$7', 7, 7, ['$a6', '$b6', '$gone']),
  node('$8', 8, 8, ['$7', '$foreign']),
  node('$foreign', 9, 10, [], { roomId: '!other:x' }),
];

const graph = (): { fetch: FetchNodes; calls: string[][] } => {
  const byId = new Map(nodes.map((entry) => [entry.eventId, entry]));
  const calls: string[][] = [];
  return {
    calls,
    fetch: async (ids) => {
      calls.push([...ids]);
      return ids.flatMap((id) => byId.get(id) ?? []);
    },
  };
};

const ids = (found: readonly GraphNode[]): string[] => found.map((entry) => entry.eventId);

describe('backfillWalk', () => {
  it('walks prev_events by depth, newest first, including the seeds, up to the limit', async () => {
    const { fetch } = graph();
    expect(ids(await backfillWalk(ROOM, ['$8'], 4, fetch))).toEqual(['$8', '$7', '$b6', '$a6']);
    expect(ids(await backfillWalk(ROOM, ['$8'], 1, fetch))).toEqual(['$8']);
    expect(ids(await backfillWalk(ROOM, ['$8'], 0, fetch))).toEqual([]);
  });

  it('takes each event once across a fork and its merge, and reaches held outliers through prev_events', async () => {
    const { fetch } = graph();
    // $o (depth 2) sorts after $3 (depth 3) and before $2's equal depth only by its later offset.
    expect(ids(await backfillWalk(ROOM, ['$8'], 100, fetch))).toEqual(['$8', '$7', '$b6', '$a6', '$5', '$4', '$3', '$o', '$2', '$1']);
  });

  it('starts from several seeds and ignores unknown ones and other rooms\' events', async () => {
    const { fetch } = graph();
    expect(ids(await backfillWalk(ROOM, ['$a6', '$b6', '$gone', '$foreign'], 3, fetch))).toEqual(['$b6', '$a6', '$5']);
    expect(ids(await backfillWalk(ROOM, ['$gone', '$foreign'], 10, fetch))).toEqual([]);
  });

  it('never follows an edge into another room', async () => {
    const { fetch } = graph();
    expect(ids(await backfillWalk(ROOM, ['$8'], 100, fetch))).not.toContain('$foreign');
  });
});

describe('missingEventsWalk', () => {
  it('answers the ancestors of latest_events, oldest first, stopping at earliest_events', async () => {
    const { fetch } = graph();
    // $o, an outlier $b6 cites, is walked to with $5; $4 is where the asker's history ends.
    expect(ids(await missingEventsWalk(ROOM, ['$4'], ['$8'], 10, 0, fetch))).toEqual(['$o', '$5', '$a6', '$b6', '$7']);
  });

  it('leaves out latest_events themselves and counts only held events of the room towards the limit', async () => {
    const { fetch } = graph();
    const found = ids(await missingEventsWalk(ROOM, ['$3'], ['$8'], 10, 0, fetch));
    expect(found).not.toContain('$8');
    expect(found).not.toContain('$gone');
    expect(found).not.toContain('$foreign');
    expect(found).toEqual(['$4', '$o', '$5', '$a6', '$b6', '$7']);
  });

  it('keeps the events nearest latest_events when the limit cuts the walk', async () => {
    const { fetch } = graph();
    expect(ids(await missingEventsWalk(ROOM, [], ['$8'], 2, 0, fetch))).toEqual(['$b6', '$7']);
    expect(ids(await missingEventsWalk(ROOM, [], ['$8'], 0, 0, fetch))).toEqual([]);
  });

  it('does not walk below min_depth', async () => {
    const { fetch } = graph();
    expect(ids(await missingEventsWalk(ROOM, [], ['$7'], 20, 5, fetch))).toEqual(['$5', '$a6', '$b6']);
  });

  it('answers nothing when latest_events are already known to the asker, unknown, or of another room', async () => {
    const { fetch, calls } = graph();
    expect(await missingEventsWalk(ROOM, ['$8'], ['$8'], 10, 0, fetch)).toEqual([]);
    expect(calls).toEqual([]);
    expect(await missingEventsWalk(ROOM, [], ['$gone', '$foreign'], 10, 0, fetch)).toEqual([]);
  });
});
