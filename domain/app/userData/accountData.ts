/**
 * Client config (client-server-api § Client Config, account-data.yaml) and room tagging (§ Room
 * Tagging, tags.yaml). Tags live in the room's `m.tag` account data, as /sync delivers them.
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { UserDataContext, Requester } from './context.ts';
import { badJson, invalidParam, notFound, requireRoomId, requireSelf } from './errors.ts';

/** Types the server controls: `m.fully_read` through read markers, `m.push_rules` through /pushrules. */
const SERVER_CONTROLLED = new Set(['m.fully_read', 'm.push_rules']);
const MAX_TAG_BYTES = 255;

export const accountDataChanged = (ctx: UserDataContext, userId: string): void => ctx.notifier.notify([userId]);

/** `GET /user/{userId}[/rooms/{roomId}]/account_data/{type}`. */
export const getAccountData = async (
  ctx: UserDataContext, requester: Requester, userId: string, roomId: string | null, type: string,
): Promise<JsonObject> => {
  requireSelf(requester.userId, userId, 'account data');
  if (roomId !== null) requireRoomId(roomId);
  const content = await ctx.stores.accountData.get(userId, roomId, type);
  if (content === undefined) throw notFound(`No account data of type ${type}`);
  return content;
};

/** `PUT /user/{userId}[/rooms/{roomId}]/account_data/{type}`. */
export const setAccountData = async (
  ctx: UserDataContext, requester: Requester, userId: string, roomId: string | null, type: string, content: JsonObject,
): Promise<void> => {
  requireSelf(requester.userId, userId, 'account data');
  if (roomId !== null) requireRoomId(roomId);
  if (SERVER_CONTROLLED.has(type)) {
    throw new MatrixError('M_BAD_JSON', 405, `Cannot set ${type} through this API`);
  }
  await ctx.stores.accountData.update(userId, roomId, type, () => content);
  accountDataChanged(ctx, userId);
};

const tagsOf = (content: JsonObject | undefined): JsonObject =>
  content !== undefined && isJsonObject(content.tags) ? content.tags : {};

/** `GET /user/{userId}/rooms/{roomId}/tags`. */
export const getTags = async (ctx: UserDataContext, requester: Requester, userId: string, roomId: string): Promise<JsonObject> => {
  requireSelf(requester.userId, userId, 'tags');
  requireRoomId(roomId);
  return { tags: tagsOf(await ctx.stores.accountData.get(userId, roomId, 'm.tag')) };
};

/** `PUT /user/{userId}/rooms/{roomId}/tags/{tag}`: the body is the tag's info (`order`, 0 to 1). */
export const setTag = async (
  ctx: UserDataContext, requester: Requester, userId: string, roomId: string, tag: string, info: JsonObject,
): Promise<void> => {
  requireSelf(requester.userId, userId, 'tags');
  requireRoomId(roomId);
  if (new TextEncoder().encode(tag).length > MAX_TAG_BYTES) throw invalidParam(`Tags are at most ${MAX_TAG_BYTES} bytes`);
  if (info.order !== undefined && (typeof info.order !== 'number' || info.order < 0 || info.order > 1)) {
    throw badJson("'order' must be a number between 0 and 1");
  }
  await ctx.stores.accountData.update(userId, roomId, 'm.tag', (current) => ({ tags: { ...tagsOf(current), [tag]: info } }));
  accountDataChanged(ctx, userId);
};

/** `DELETE /user/{userId}/rooms/{roomId}/tags/{tag}`: removing an absent tag succeeds. */
export const deleteTag = async (ctx: UserDataContext, requester: Requester, userId: string, roomId: string, tag: string): Promise<void> => {
  requireSelf(requester.userId, userId, 'tags');
  requireRoomId(roomId);
  const result = await ctx.stores.accountData.update(userId, roomId, 'm.tag', (current) => {
    const tags = tagsOf(current);
    if (!Object.hasOwn(tags, tag)) return undefined;
    const { [tag]: _removed, ...rest } = tags;
    return { tags: rest };
  });
  if (result !== undefined) accountDataChanged(ctx, userId);
};
