/**
 * Routes of the room modules beyond the core: relations.yaml, threads_list.yaml,
 * room_event_by_timestamp.yaml, users.yaml (user directory), room_summary.yaml,
 * report_content.yaml and mutual_rooms.yaml.
 */
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import type { RoomModules } from '../../../domain/app/rooms/index.ts';
import type { StrataContext, StrataMiddleware, StrataRouter } from '../../http/index.ts';
import { allowGuests, clientPaths, optionalAccessToken, optionalRequesterOf } from '../accounts/index.ts';
import { body, param, queryString, roomRequester } from './common.ts';

const V1 = '/_matrix/client/v1';

const defined = <T extends Record<string, string | undefined>>(values: T): { [K in keyof T]?: string } =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: string };

const optionalParam = (ctx: StrataContext, name: string): string | undefined => (ctx.params as Record<string, string | undefined>)[name];

export const addModuleRoutes = (
  router: StrataRouter, modules: RoomModules, auth: StrataMiddleware, accounts: Pick<Accounts, 'authenticate'>,
): void => {
  for (const path of ['/relations/:eventId', '/relations/:eventId/:relType', '/relations/:eventId/:relType/:eventType']) {
    router.get(`${V1}/rooms/:roomId${path}`, allowGuests, auth, async (ctx) => {
      ctx.body = await modules.getRelations(roomRequester(ctx), param(ctx, 'roomId'), param(ctx, 'eventId'), defined({
        relType: optionalParam(ctx, 'relType'), eventType: optionalParam(ctx, 'eventType'),
        from: queryString(ctx, 'from'), to: queryString(ctx, 'to'), limit: queryString(ctx, 'limit'),
        dir: queryString(ctx, 'dir'), recurse: queryString(ctx, 'recurse'),
      }));
    });
  }
  router.get(`${V1}/rooms/:roomId/threads`, auth, async (ctx) => {
    ctx.body = await modules.getThreads(roomRequester(ctx), param(ctx, 'roomId'), defined({
      include: queryString(ctx, 'include'), from: queryString(ctx, 'from'), limit: queryString(ctx, 'limit'),
    }));
  });
  router.get(`${V1}/rooms/:roomId/timestamp_to_event`, auth, async (ctx) => {
    ctx.body = await modules.timestampToEvent(roomRequester(ctx), param(ctx, 'roomId'), queryString(ctx, 'ts'), queryString(ctx, 'dir'));
  });
  // Room summaries may be read without a token (room_summary.yaml); a token that is sent must be valid.
  router.get(`${V1}/room_summary/:roomIdOrAlias`, allowGuests, optionalAccessToken(accounts), async (ctx) => {
    ctx.body = await modules.getRoomSummary(optionalRequesterOf(ctx) === undefined ? undefined : roomRequester(ctx), param(ctx, 'roomIdOrAlias'));
  });
  router.get(`${V1}/mutual_rooms`, auth, async (ctx) => {
    ctx.body = await modules.mutualRooms(roomRequester(ctx), queryString(ctx, 'user_id'), queryString(ctx, 'from'));
  });
  for (const path of clientPaths('/user_directory/search')) {
    router.post(path, auth, async (ctx) => {
      ctx.body = await modules.searchUserDirectory(roomRequester(ctx), await body(ctx));
    });
  }
  for (const path of clientPaths('/rooms/:roomId/report/:eventId')) {
    router.post(path, auth, async (ctx) => {
      await modules.reportEvent(roomRequester(ctx), param(ctx, 'roomId'), param(ctx, 'eventId'), await body(ctx, undefined, true));
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/rooms/:roomId/report')) {
    router.post(path, auth, async (ctx) => {
      await modules.reportRoom(roomRequester(ctx), param(ctx, 'roomId'), await body(ctx, undefined, true));
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/users/:userId/report')) {
    router.post(path, auth, async (ctx) => {
      await modules.reportUser(roomRequester(ctx), param(ctx, 'userId'), await body(ctx, undefined, true));
      ctx.body = {};
    });
  }
};
