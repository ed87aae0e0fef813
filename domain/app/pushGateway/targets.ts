/**
 * Who a room event is pushed to (client-server-api/modules/push.md § Receiving notifications):
 * the room's joined members on this server other than the sender, through their `http` pushers
 * (an `email` pusher cannot be created here: nobody has a validated email).
 */
import { isJsonObject } from '../../json.ts';
import type { Pusher } from '../../ports/userData.ts';
import type { StoredEvent } from '../../ports/rooms.ts';

/** `@local:server` belongs to `serverName` (the server name is everything after the first colon). */
export const isLocalUser = (userId: string, serverName: string): boolean => userId.slice(userId.indexOf(':') + 1) === serverName;

/** The local users joined per `members` (m.room.member state events), except the sender; sorted, no duplicates. */
export const pushRecipients = (members: readonly StoredEvent[], sender: string, serverName: string): string[] => {
  const users = new Set<string>();
  for (const member of members) {
    const content = member.pdu.content;
    if (member.type !== 'm.room.member' || member.stateKey === null || !isJsonObject(content) || content.membership !== 'join') continue;
    if (member.stateKey === sender || !isLocalUser(member.stateKey, serverName)) continue;
    users.add(member.stateKey);
  }
  return [...users].sort();
};

/** The pushers a push gateway is posted to: `http` ones with a string `data.url`. */
export const httpPushers = (pushers: readonly Pusher[]): Pusher[] =>
  pushers.filter((pusher) => pusher.kind === 'http' && typeof pusher.data.url === 'string');

/**
 * Whether an event is pushed at all: accepted room events only; a redacted event (its
 * notification withdrawn) is not, as in the unread counts.
 */
export const isPushable = (event: StoredEvent): boolean => event.redactedBecause === null;
