/** Everything /sync depends on; built once by the composition root. */
import type { JsonObject } from '../../json.ts';
import type { OffsetRange, RoomDirectory, RoomReadModel, SyncReadModel } from '../../ports/rooms.ts';
import type { RoomMembership } from '../../ports/userData.ts';
import type { Notifier } from '../notifier/index.ts';
import type { UserData } from '../userData/index.ts';

export interface SyncContext {
  readonly rooms: RoomReadModel;
  readonly sync: SyncReadModel;
  readonly membership: RoomMembership;
  readonly directory: Pick<RoomDirectory, 'forgottenRooms'>;
  readonly userData: Pick<UserData, 'streams' | 'resolveFilter' | 'getPresence' | 'setPresence' | 'getPushRules'>;
  readonly notifier: Notifier;
  readonly clock: { now(): number };
  /**
   * Bundled aggregations on timeline events (rooms/modules.ts `bundleAggregations`), given the
   * offsets the user may see when /sync computed them; absent: timelines are served without.
   */
  readonly bundleAggregations?: (
    requester: SyncRequester, roomId: string, events: readonly JsonObject[], visible?: readonly OffsetRange[],
  ) => Promise<void>;
}

export interface SyncRequester {
  readonly userId: string;
  readonly deviceId: string;
}
