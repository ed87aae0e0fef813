/**
 * History visibility for servers (client-server-api § Room History Visibility, as Synapse's
 * `filter_events_for_server` applies it to /event, /backfill and /get_missing_events): a server may
 * read the room, yet not every event in it. An event is visible to a server when the room's
 * history_visibility at it is `world_readable` or `shared` (or absent: `shared`), when one of the
 * server's users was joined at it, or invited where the visibility is `invited`. Any other event is
 * served redacted, not left out, so the asker's DAG has no hole.
 *
 * "At the event" is the room state right after it, as the read model's linear state holds it
 * (the state the client API's visibility reads too): a history_visibility event applies to itself.
 */
import { redactPdu, type Pdu } from '../../events/index.ts';
import type { ServerVisibilityHistory } from '../../ports/roomEvents.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import { roomVersionRules } from '../../roomVersions/index.ts';

/** The value a history of changes gives at `offset`: its last change at or before it. */
const valueAt = <T extends { readonly offset: number }>(changes: readonly T[], offset: number): T | undefined => {
  let found: T | undefined;
  for (const change of changes) {
    if (change.offset > offset) break;
    found = change;
  }
  return found;
};

export const visibleToServer = (history: ServerVisibilityHistory, offset: number): boolean => {
  const visibility = valueAt(history.historyVisibility, offset)?.value ?? 'shared';
  if (visibility !== 'invited' && visibility !== 'joined') return true;
  const latest = new Map<string, string | null>();
  for (const change of history.memberships) {
    if (change.offset > offset) break;
    latest.set(change.userId, change.value);
  }
  for (const membership of latest.values()) {
    if (membership === 'join') return true;
    if (membership === 'invite' && visibility === 'invited') return true;
  }
  return false;
};

/** The events' PDUs as `origin` may see them: as stored, or redacted where history visibility hides them. */
export const pdusForServer = (history: ServerVisibilityHistory, events: readonly StoredEvent[]): Pdu[] =>
  events.flatMap((event) => {
    if (visibleToServer(history, event.offset)) return [event.pdu];
    const rules = roomVersionRules(event.roomVersion);
    // Every stored event's version is known (it was accepted); were it not, it could not be redacted, so it is left out.
    return rules === undefined ? [] : [redactPdu(event.pdu, rules.redaction)];
  });
