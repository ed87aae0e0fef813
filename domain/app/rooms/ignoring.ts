/**
 * Ignoring users (client-server-api/modules/ignore_users.md): "the client will no longer receive
 * events sent by that user, with the exception of state events". Like Synapse's
 * filter_events_for_client, this applies to every event a client reads: /sync timelines,
 * /messages, /context and /event.
 */
import type { StoredEvent } from '../../ports/rooms.ts';
import type { UserPreferences } from './preferences.ts';

const NONE: ReadonlySet<string> = new Set();

/** Whether the user ignoring `ignored` must not be sent `event`: "Servers must still send state events sent by ignored users". */
export const hiddenByIgnoring = (event: Pick<StoredEvent, 'sender' | 'stateKey'>, ignored: ReadonlySet<string>): boolean =>
  event.stateKey === null && ignored.has(event.sender);

/** `events` without those the user must not be sent. */
export const withoutIgnored = <E extends Pick<StoredEvent, 'sender' | 'stateKey'>>(events: readonly E[], ignored: ReadonlySet<string>): E[] =>
  ignored.size === 0 ? [...events] : events.filter((event) => !hiddenByIgnoring(event, ignored));

/** The users `userId` ignores; none when the server was composed without preferences. */
export const ignoredBy = (preferences: UserPreferences | undefined, userId: string): Promise<ReadonlySet<string>> =>
  preferences === undefined ? Promise.resolve(NONE) : preferences.ignoredUsers(userId);

/**
 * Whether an invite from `inviter` is kept from the invitee: never served while they block invites
 * (modules/invite_permission.md), nor from a user they ignore (as Synapse's /sync does).
 */
export const inviteHidden = (inviter: string, preferences: { readonly ignored: ReadonlySet<string>; readonly blocksInvites: boolean }): boolean =>
  preferences.blocksInvites || preferences.ignored.has(inviter);
