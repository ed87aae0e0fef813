import type { RoomEvent } from '../events/index.ts';
import { roomVersionRules } from '../roomVersions/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { ALLOW, deny } from './decision.ts';
import type { AuthDecision } from './decision.ts';
import { domainOf, hasOwnField, isValidUserId, ownField } from './content.ts';

/** Rule 1: an m.room.create event, checked on its own (it has no state before it). */
export const checkCreateEvent = (event: RoomEvent, rules: RoomVersionRules): AuthDecision => {
  // 1.1: "If it has any prev_events, reject."
  if (event.prevEventIds.length > 0) return deny('m.room.create must not have prev_events');

  if (rules.eventFormat.roomIdIsCreateEventHash) {
    // Since v12, 1.2: "If the event has a room_id, reject." (the room id is derived from its hash)
    if (hasOwnField(event.pdu, 'room_id')) return deny('m.room.create must not have a room_id');
  } else {
    // v1–v11, 1.2: "If the domain of the room_id does not match the domain of the sender, reject."
    const roomDomain = domainOf(event.roomId);
    if (roomDomain === undefined || roomDomain !== domainOf(event.sender)) {
      return deny('m.room.create: the room_id domain does not match the sender domain');
    }
  }

  // 1.3: "If content.room_version is present and is not a recognised version, reject."
  if (hasOwnField(event.content, 'room_version')) {
    const version = ownField(event.content, 'room_version');
    if (typeof version !== 'string' || roomVersionRules(version) === undefined) {
      return deny('m.room.create: content.room_version is not a recognised room version');
    }
  }

  // v1–v10, 1.4: "If content has no creator property, reject." (Since v11 the sender is the creator.)
  if (!rules.auth.creatorIsCreateSender && !hasOwnField(event.content, 'creator')) {
    return deny('m.room.create: content has no creator');
  }

  // Since v12, 1.4: "If additional_creators is present in content and is not an array of strings
  // where each string passes the same user ID validation applied to sender, reject."
  if (rules.auth.privilegedCreators && hasOwnField(event.content, 'additional_creators')) {
    const additional = ownField(event.content, 'additional_creators');
    if (!Array.isArray(additional) || !additional.every((user) => typeof user === 'string' && isValidUserId(user))) {
      return deny('m.room.create: additional_creators must be an array of valid user ids');
    }
  }

  return ALLOW;
};
