/** Server-side key backups: `/room_keys/version[/{version}]` and `/room_keys/keys[/{roomId}[/{sessionId}]]`. */
import type { RoomKeySelection, UserData } from '../../../domain/app/userData/index.ts';
import { readJsonBody, type StrataContext, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { clientPathsWithUnstable, requesterOf } from '../accounts/index.ts';
import { MAX_BODY_BYTES, MAX_ROOM_KEYS_BODY_BYTES } from './limits.ts';

/** The required `version` query parameter (the use-cases answer M_MISSING_PARAM without it). */
const versionParam = (ctx: StrataContext): string | undefined =>
  typeof ctx.query.version === 'string' ? ctx.query.version : undefined;

const selectionOf = (params: Readonly<Record<string, string | undefined>>): RoomKeySelection => ({
  ...(params.roomId === undefined ? {} : { roomId: params.roomId }),
  ...(params.sessionId === undefined ? {} : { sessionId: params.sessionId }),
});

export const addKeyBackupRoutes = (router: StrataRouter, userData: UserData, auth: StrataMiddleware): void => {
  for (const path of clientPathsWithUnstable('/room_keys/version')) {
    router.post(path, auth, async (ctx) => {
      ctx.body = await userData.createBackupVersion(requesterOf(ctx), await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }));
    });
    router.get(path, auth, async (ctx) => {
      ctx.body = await userData.getBackupVersion(requesterOf(ctx), undefined);
    });
  }
  for (const path of clientPathsWithUnstable('/room_keys/version/:version')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await userData.getBackupVersion(requesterOf(ctx), ctx.params.version!);
    });
    router.put(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      ctx.body = await userData.updateBackupVersion(requesterOf(ctx), ctx.params.version!, body);
    });
    router.delete(path, auth, async (ctx) => {
      ctx.body = await userData.deleteBackupVersion(requesterOf(ctx), ctx.params.version!);
    });
  }
  for (const path of ['/room_keys/keys', '/room_keys/keys/:roomId', '/room_keys/keys/:roomId/:sessionId'].flatMap(clientPathsWithUnstable)) {
    router.put(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_ROOM_KEYS_BODY_BYTES });
      ctx.body = await userData.putRoomKeys(requesterOf(ctx), versionParam(ctx), selectionOf(ctx.params), body);
    });
    router.get(path, auth, async (ctx) => {
      ctx.body = await userData.getRoomKeys(requesterOf(ctx), versionParam(ctx), selectionOf(ctx.params));
    });
    router.delete(path, auth, async (ctx) => {
      ctx.body = await userData.deleteRoomKeys(requesterOf(ctx), versionParam(ctx), selectionOf(ctx.params));
    });
  }
};
