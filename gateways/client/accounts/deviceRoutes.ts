/** Device management: `GET /devices`, `GET`/`PUT`/`DELETE /devices/{deviceId}`, `POST /delete_devices`. */
import { optionalString, requireStringArray, type Accounts } from '../../../domain/app/accounts/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { allowGuests, requesterOf } from './auth.ts';
import { clientPaths, MAX_BODY_BYTES } from './paths.ts';
import { guardedRequest, renderUiaChallenge } from './uia.ts';

export const addDeviceRoutes = (router: StrataRouter, accounts: Accounts, auth: StrataMiddleware): void => {
  for (const path of clientPaths('/devices')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      ctx.body = { devices: await accounts.listDevices(requesterOf(ctx)) };
    });
  }
  for (const path of clientPaths('/devices/:deviceId')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      ctx.body = await accounts.getDevice(requesterOf(ctx), ctx.params.deviceId as string);
    });
    router.put(path, allowGuests, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      const { created } = await accounts.renameDevice(requesterOf(ctx), ctx.params.deviceId as string, optionalString(body, 'display_name'));
      // device_management.yaml: 201 when an application service created the device.
      ctx.status = created ? 201 : 200;
      ctx.body = {};
    });
    router.delete(path, auth, renderUiaChallenge, async (ctx) => {
      // The first request of the UIA exchange may come without a body.
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES, allowEmpty: true });
      await accounts.deleteDevices(requesterOf(ctx), [ctx.params.deviceId as string], guardedRequest(ctx, body));
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/delete_devices')) {
    router.post(path, auth, renderUiaChallenge, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await accounts.deleteDevices(requesterOf(ctx), requireStringArray(body, 'devices'), guardedRequest(ctx, body));
      ctx.body = {};
    });
  }
};
