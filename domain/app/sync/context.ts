/** Everything /sync depends on; built once by the composition root. */
import type { RoomDirectory, RoomReadModel, SyncReadModel } from '../../ports/rooms.ts';
import type { RoomMembership } from '../../ports/userData.ts';
import type { Notifier } from '../notifier/index.ts';
import type { UserData } from '../userData/index.ts';

export interface SyncContext {
  readonly rooms: RoomReadModel;
  readonly sync: SyncReadModel;
  readonly membership: RoomMembership;
  readonly directory: Pick<RoomDirectory, 'forgottenRooms'>;
  readonly userData: Pick<UserData, 'streams' | 'resolveFilter' | 'getPresence' | 'setPresence'>;
  readonly notifier: Notifier;
  readonly clock: { now(): number };
}

export interface SyncRequester {
  readonly userId: string;
  readonly deviceId: string;
}
