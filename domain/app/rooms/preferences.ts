/**
 * The user preferences room use-cases and /sync obey, kept in the user's global account data:
 * `m.ignored_user_list` (client-server-api/modules/ignore_users.md) and, since v1.18,
 * `m.invite_permission_config` (modules/invite_permission.md).
 */
import { isJsonObject, type JsonObject } from '../../json.ts';

export const IGNORED_USER_LIST = 'm.ignored_user_list';
export const INVITE_PERMISSION_CONFIG = 'm.invite_permission_config';

/** The port: what a user asked about others' events and invites. */
export interface UserPreferences {
  ignoredUsers(userId: string): Promise<ReadonlySet<string>>;
  blocksInvites(userId: string): Promise<boolean>;
}

/** The user's global account data of one type (undefined when unset). */
export type GlobalAccountData = (userId: string, type: string) => Promise<JsonObject | undefined>;

/** m.ignored_user_list: "The map of users to ignore", user ids as keys (the values are empty objects). */
export const ignoredUsersIn = (content: JsonObject | undefined): ReadonlySet<string> =>
  new Set(content !== undefined && isJsonObject(content.ignored_users) ? Object.keys(content.ignored_users) : []);

/** m.invite_permission_config: only `default_action: "block"` blocks; "a missing, invalid or unsupported value" does not. */
export const blocksInvitesIn = (content: JsonObject | undefined): boolean => content?.default_action === 'block';

/** The port over account data (domain/app/userData). */
export const accountDataPreferences = (get: GlobalAccountData): UserPreferences => ({
  ignoredUsers: async (userId) => ignoredUsersIn(await get(userId, IGNORED_USER_LIST)),
  blocksInvites: async (userId) => blocksInvitesIn(await get(userId, INVITE_PERMISSION_CONFIG)),
});
