import { describe, expect, it } from 'vitest';
import type { SyncContext } from './context.ts';
import { countUnread, type UnreadCounts } from './unread.ts';

interface Row {
  offset: number;
  type: string;
  body: string;
  redacted: boolean;
}

/** A room as the read model would count it: notifying = m.room.message, highlight = body names a name. */
const room = () => {
  const rows: Row[] = [];
  const calls = { counts: 0, countedRows: 0 };
  const ctx = {
    sync: {
      notificationCounts: async (_roomId: string, _userId: string, after: number, before: number, names: readonly string[]) => {
        calls.counts++;
        const counted = rows.filter((row) => row.offset > after && row.offset < before && row.type === 'm.room.message' && !row.redacted);
        calls.countedRows += counted.length;
        const redactions = rows.filter((row) => row.offset > after && row.offset < before && row.type === 'm.room.redaction').length;
        return { notifications: counted.length, highlights: counted.filter((row) => names.some((name) => row.body.includes(name))).length, redactions };
      },
    },
  } as unknown as SyncContext;
  const add = (type: string, body = 'hello'): Row => {
    const row = { offset: rows.length, type, body, redacted: false };
    rows.push(row);
    return row;
  };
  return { ctx, add, calls, end: () => rows.length };
};

describe('unread counts across syncs', () => {
  it('extends an earlier count with the new events only, and matches a fresh count', async () => {
    const r = room();
    const cache: UnreadCounts = new Map();
    for (let i = 0; i < 5; i++) r.add('m.room.message', i === 2 ? 'hi alice' : 'hi');
    expect(await countUnread(r.ctx, '!r', '@alice:x', 0, r.end(), ['alice'], cache)).toEqual({ notifications: 4, highlights: 1 });
    r.add('m.room.message', 'alice?');
    r.add('m.room.member');
    r.calls.countedRows = 0;
    const extended = await countUnread(r.ctx, '!r', '@alice:x', 0, r.end(), ['alice'], cache);
    expect(extended).toEqual({ notifications: 5, highlights: 2 });
    expect(r.calls.countedRows).toBe(1);
    expect(extended).toEqual(await countUnread(r.ctx, '!r', '@alice:x', 0, r.end(), ['alice'], undefined));
  });

  it('counts afresh after a redaction, a moved receipt, other names or an older position', async () => {
    const r = room();
    const cache: UnreadCounts = new Map();
    const first = r.add('m.room.message', 'alice');
    r.add('m.room.message');
    await countUnread(r.ctx, '!r', '@alice:x', -1, r.end(), ['alice'], cache);
    first.redacted = true;
    r.add('m.room.redaction');
    expect(await countUnread(r.ctx, '!r', '@alice:x', -1, r.end(), ['alice'], cache)).toEqual({ notifications: 1, highlights: 0 });
    r.add('m.room.message', 'Alice Liddell');
    expect(await countUnread(r.ctx, '!r', '@alice:x', 1, r.end(), ['alice'], cache)).toEqual({ notifications: 1, highlights: 0 });
    expect(await countUnread(r.ctx, '!r', '@alice:x', 1, r.end(), ['Alice'], cache)).toEqual({ notifications: 1, highlights: 1 });
    expect(await countUnread(r.ctx, '!r', '@alice:x', 1, 2, ['Alice'], cache)).toEqual({ notifications: 0, highlights: 0 });
  });

  it('asks nothing when no event arrived since the last count', async () => {
    const r = room();
    const cache: UnreadCounts = new Map();
    r.add('m.room.message');
    await countUnread(r.ctx, '!r', '@alice:x', -1, r.end(), [], cache);
    r.calls.counts = 0;
    expect(await countUnread(r.ctx, '!r', '@alice:x', -1, r.end(), [], cache)).toEqual({ notifications: 1, highlights: 0 });
    expect(r.calls.counts).toBe(0);
  });
});
