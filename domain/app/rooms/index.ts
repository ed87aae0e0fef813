/** Rooms: the room writer and the room use-cases (public surface). */
export { createRooms, type Rooms } from './rooms.ts';
export type { RoomsContext, RoomRequester } from './context.ts';
export { createRoomWriter, type CreateRoomRequest, type RoomWriter, type RoomWriterOptions } from './roomWriter.ts';
export type { SendStage } from './sendStages.ts';
export { withGuestRemoval } from './guests.ts';
export { clientEvent, strippedStateEvent, type Viewer } from './clientEvent.ts';
export { parseRoomToken, roomToken } from './tokens.ts';
export { restrictedToVisible, visibleRangesBelow, windowOf } from './visibility.ts';
export { BACKFILLED_FLOOR } from './historyVisibility.ts';
export {
  accountDataPreferences, blocksInvitesIn, ignoredUsersIn, IGNORED_USER_LIST, INVITE_PERMISSION_CONFIG, type UserPreferences,
} from './preferences.ts';
export { hiddenByIgnoring, ignoredBy, inviteHidden, withoutIgnored } from './ignoring.ts';
export type { CreateRoomResult } from './createRoom.ts';
export type { MembersQuery, MessagesRequest } from './reading.ts';
export type { HierarchyRequest } from './hierarchy.ts';
export type { InitialSyncRequest } from './legacySync.ts';
export { createRoomPeeking, type PeekContext, type PeekRequest, type RoomPeeking } from './peekEvents.ts';
// The ports these use-cases need, so adapters implement them from this one surface.
export type * from '../../ports/rooms.ts';
export { createRoomModules, withBundledAggregations, type RoomModules } from './modules.ts';
export type { RoomModulesContext } from './modulesContext.ts';
export type { RelationsRequest, ThreadsRequest } from './relations.ts';
export { restrictedJoinContent, restrictingRooms, type RestrictedJoinContext } from './restrictedJoin.ts';
