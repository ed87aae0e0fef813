/**
 * `PUT /_matrix/client/v3/directory/list/appservice/{networkId}/{roomId}`
 * (appservice_room_directory.yaml): a bridge publishes a room in its list for one of its networks,
 * or withdraws it. Those lists are apart from the server's own: /publicRooms shows a network's
 * rooms for its `third_party_instance_id` (`appserviceId|networkId`) or `include_all_networks`.
 * As Synapse, any bridge may list any room id; the listing shows only rooms this server holds.
 */
import type { AppserviceRegistration } from '../../appservices/index.ts';
import { MatrixError } from '../../errors.ts';
import { parseRoomId } from '../../ids/index.ts';
import type { AppservicesContext } from './context.ts';

const invalidParam = (message: string): MatrixError => new MatrixError('M_INVALID_PARAM', 400, message);

/** `caller`: the bridge whose as_token authenticated the request, undefined for anyone else. */
export const setNetworkVisibility = async (
  ctx: AppservicesContext, caller: AppserviceRegistration | undefined, networkId: string, roomId: string, visibility: unknown,
): Promise<void> => {
  if (caller === undefined) throw new MatrixError('M_FORBIDDEN', 403, 'Only appservices can edit the appservice published room list');
  if (visibility !== 'public' && visibility !== 'private') throw invalidParam("'visibility' must be public or private");
  // The instance id joins the bridge's id and the network's with `|`: a network id holding one could never be listed.
  if (networkId === '' || networkId.includes('|')) throw invalidParam("The network id must be non-empty and must not contain '|'");
  if (!parseRoomId(roomId).ok) throw invalidParam(`Invalid room id ${roomId}`);
  await ctx.directory.setNetworkVisibility(caller.id, networkId, roomId, visibility);
};
