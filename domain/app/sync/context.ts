/** Everything /sync depends on; built once by the composition root. */
import type { JsonObject } from '../../json.ts';
import type { OffsetRange, RoomDirectory, RoomReadModel, SyncReadModel } from '../../ports/rooms.ts';
import type { RoomMembership } from '../../ports/userData.ts';
import type { Notifier } from '../notifier/index.ts';
import type { UserPreferences } from '../rooms/index.ts';
import type { UserData } from '../userData/index.ts';

export interface SyncContext {
  readonly rooms: RoomReadModel;
  readonly sync: SyncReadModel;
  readonly membership: RoomMembership;
  readonly directory: Pick<RoomDirectory, 'forgottenRooms'>;
  readonly userData: Pick<UserData, 'streams' | 'resolveFilter' | 'presence' | 'getPushRules'>;
  readonly notifier: Notifier;
  readonly clock: { now(): number };
  /**
   * A device answered less than this many milliseconds ago, long-polling from that answer, gets
   * its next one no sooner than this after it (sync.ts `paced`); absent or 0: answered at once.
   */
  readonly responseIntervalMs?: number;
  /**
   * Told, for a long-poll woken by the notifier and answered with news, the seconds from the wake
   * to the answer (the pacing above and the computation): the delivery stage of a message's life.
   */
  readonly onAnsweredAfterWake?: (seconds: number) => void;
  /** Ignored users and invite blocking (ignored.ts); absent: neither applies. */
  readonly preferences?: UserPreferences;
  /** Senders the user ignores, for the rooms of this response (ignored.ts `ignoringContext`). */
  readonly ignoredSenders?: ReadonlySet<string>;
  /**
   * Bundled aggregations on timeline events (rooms/modules.ts `bundleAggregations`), given the
   * offsets the user may see when /sync computed them, and which events have children when the
   * timeline read probed it (StoredEvent.hasChildren); absent: timelines are served without.
   */
  readonly bundleAggregations?: (
    requester: SyncRequester, roomId: string, events: readonly JsonObject[], visible?: readonly OffsetRange[],
    known?: ReadonlyMap<string, boolean>,
  ) => Promise<void>;
}

export interface SyncRequester {
  readonly userId: string;
  readonly deviceId: string;
}
