import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { UserAccount } from '../../ports/accounts.ts';
import { createAnalystAccess } from './access.ts';
import { createAnalytics, NOT_CONFIGURED_MESSAGE } from './analytics.ts';
import { MAX_LIMIT, MAX_TIME_MS, parseEventCountsQuery, parseRoomActivityQuery } from './params.ts';
import type { AnalyticsReadModel, EventCountsQuery, RoomActivityQuery } from './readModel.ts';

const user = (userId: string, isAdmin: boolean): UserAccount => ({ userId, passwordHash: null, isGuest: false, isAdmin, createdTs: 0 });
const users = {
  getUser: async (id: string) => [
    user('@admin:a.test', true), user('@user:a.test', false), user('@analyst:a.test', false),
    { ...user('@gone:a.test', false), deactivated: true },
  ].find((u) => u.userId === id),
};
const access = createAnalystAccess({ users, analysts: ['@analyst:a.test', '@gone:a.test', '@ghost:a.test'] });

const failure = (work: () => unknown): MatrixError => {
  try {
    work();
  } catch (error) {
    if (error instanceof MatrixError) return error;
    throw error;
  }
  throw new Error('expected a MatrixError');
};

describe('analytics parameters', () => {
  it('parses a full counts query and applies defaults', () => {
    expect(parseEventCountsQuery({ group_by: 'day' })).toEqual({ groupBy: 'day', status: 'accepted', from: 0, to: MAX_TIME_MS + 1, limit: 100 });
    expect(parseEventCountsQuery({
      group_by: 'server', status: 'rejected', from: '5', to: '10', limit: String(MAX_LIMIT), room_id: "!a'b\\:a.test", type: "it's",
    })).toEqual({ groupBy: 'server', status: 'rejected', from: 5, to: 10, limit: MAX_LIMIT, roomId: "!a'b\\:a.test", type: "it's" });
  });

  it.each([
    [{}, 'M_MISSING_PARAM'],
    [{ group_by: 'TYPE' }, 'M_INVALID_PARAM'],
    [{ group_by: ['type', 'room'] }, 'M_INVALID_PARAM'],
    [{ group_by: 'type', from: '1e3' }, 'M_INVALID_PARAM'],
    [{ group_by: 'type', from: ' 1' }, 'M_INVALID_PARAM'],
    [{ group_by: 'type', to: '0' }, 'M_INVALID_PARAM'],
    [{ group_by: 'type', from: '7', to: '3' }, 'M_INVALID_PARAM'],
    [{ group_by: 'type', limit: '-1' }, 'M_INVALID_PARAM'],
    [{ group_by: 'type', room_id: '#alias:a.test' }, 'M_INVALID_PARAM'],
    [{ group_by: 'type', type: '\uD800' }, 'M_INVALID_PARAM'],
  ])('refuses %j with %s', (params, errcode) => {
    const error = failure(() => parseEventCountsQuery(params));
    expect(error.errcode).toBe(errcode);
    expect(error.status).toBe(400);
  });

  it('parses an activity query', () => {
    expect(parseRoomActivityQuery('!r:a.test', { bucket: 'day', from: '1', to: '2' }))
      .toEqual({ roomId: '!r:a.test', bucket: 'day', from: 1, to: 2, limit: 10_000 });
    expect(parseRoomActivityQuery('!r:a.test', {}).bucket).toBe('hour');
    expect(failure(() => parseRoomActivityQuery('r', {})).errcode).toBe('M_INVALID_PARAM');
    expect(failure(() => parseRoomActivityQuery('!r:a.test', { bucket: 'minute' })).errcode).toBe('M_INVALID_PARAM');
  });
});

describe('analytics use-cases', () => {
  const seen: (EventCountsQuery | RoomActivityQuery)[] = [];
  const unused = async (): Promise<never> => {
    throw new Error('not read by these tests');
  };
  const readModel: AnalyticsReadModel = {
    timeseries: unused, top: unused, activeUsers: unused, roomDetail: unused, userDetail: unused, exportEvents: unused, sql: unused,
    eventCounts: async (query) => {
      seen.push(query);
      return [{ key: 'm.room.message', count: 3, redacted: 1 }];
    },
    roomActivity: async (query) => {
      seen.push(query);
      return [{ ts: 0, events: 2, stateEvents: 1, senders: 1, softFailed: 0, rejected: 0, redacted: 0 }];
    },
  };

  it('answers admins and renders rows', async () => {
    const analytics = createAnalytics({ readModel, access });
    expect(await analytics.eventCounts('@admin:a.test', { group_by: 'type' })).toEqual({
      group_by: 'type', status: 'accepted', from: 0, to: MAX_TIME_MS + 1, rows: [{ key: 'm.room.message', count: 3, redacted: 1 }],
    });
    expect(await analytics.roomActivity('@admin:a.test', '!r:a.test', {})).toMatchObject({
      room_id: '!r:a.test', bucket: 'hour', rows: [{ ts: 0, events: 2, state_events: 1, senders: 1, soft_failed: 0, rejected: 0, redacted: 0 }],
    });
    expect(seen).toHaveLength(2);
  });

  it('answers named analysts as admins', async () => {
    const analytics = createAnalytics({ readModel, access });
    expect(await analytics.eventCounts('@analyst:a.test', { group_by: 'type' })).toMatchObject({ group_by: 'type' });
  });

  it('refuses others, unknown users and deactivated analysts before anything else', async () => {
    for (const analytics of [createAnalytics({ readModel, access }), createAnalytics({ readModel: null, access })]) {
      for (const who of ['@user:a.test', '@ghost:a.test', '@gone:a.test']) {
        await expect(analytics.eventCounts(who, {})).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
        await expect(analytics.roomActivity(who, 'bad', {})).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
      }
    }
  });

  it('answers 501 without ClickHouse', async () => {
    const analytics = createAnalytics({ readModel: null, access });
    await expect(analytics.eventCounts('@admin:a.test', { group_by: 'type' }))
      .rejects.toMatchObject({ errcode: 'M_UNKNOWN', status: 501, message: NOT_CONFIGURED_MESSAGE });
  });
});
