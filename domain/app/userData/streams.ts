/**
 * What /sync reads from the per-user streams. Each stream has `currentPosition()` and
 * `changesSince(…, since, upTo)`; read every position first (after `notifier.current()`;
 * `currentPositions()` reads them in one statement), then the changes up to them, and a later sync
 * from those positions misses nothing.
 */
import type { JsonObject } from '../../json.ts';
import type { AccountDataEntry, UserDataPositions } from '../../ports/userData.ts';
import type { UserDataContext } from './context.ts';
import { presenceContent } from './presence.ts';
import { effectiveRuleset, pushRulesContent } from './pushRuleset.ts';
import { receiptContents } from './receipts.ts';
import { toDeviceChanges, type ToDeviceBatch } from './toDevice.ts';

export interface AccountDataStream {
  currentPosition(): Promise<number>;
  /** Global entries have `roomId` null. From 0, `m.push_rules` is always there (defaults included). */
  changesSince(userId: string, since: number, upTo: number): Promise<AccountDataEntry[]>;
}

export interface UserDataStreams {
  /** Every stream's `currentPosition()` but typing's, in one read. */
  currentPositions(): Promise<UserDataPositions>;
  readonly accountData: AccountDataStream;
  readonly receipts: {
    currentPosition(): Promise<number>;
    /** `m.receipt` content per room, among the rooms the user is in. */
    changesSince(userId: string, roomIds: readonly string[], since: number, upTo: number): Promise<Map<string, JsonObject>>;
  };
  readonly typing: {
    currentPosition(): number;
    changesSince(roomIds: readonly string[], since: number, upTo: number): { roomId: string; userIds: string[] }[];
  };
  readonly toDevice: {
    currentPosition(): Promise<number>;
    /** Acknowledges what the device had at `since`; see toDeviceChanges (`limit`: its default). */
    changesSince(userId: string, deviceId: string, since: number, upTo: number, limit?: number): Promise<ToDeviceBatch>;
  };
  readonly deviceLists: {
    currentPosition(): Promise<number>;
    /** Users sharing a room with `userId` (or the user) whose devices changed. */
    changesSince(userId: string, since: number, upTo: number): Promise<string[]>;
  };
  readonly presence: {
    currentPosition(): Promise<number>;
    /** `m.presence` events of the user and of users sharing a room with them. */
    changesSince(userId: string, since: number, upTo: number): Promise<JsonObject[]>;
  };
  /** For the sync response's `device_one_time_keys_count` and `device_unused_fallback_key_types`. */
  keyCounts(userId: string, deviceId: string): Promise<{ oneTimeKeyCounts: Record<string, number>; unusedFallbackKeyTypes: string[] }>;
}

export const createUserDataStreams = (ctx: UserDataContext): UserDataStreams => ({
  currentPositions: () => ctx.stores.currentPositions(),
  accountData: {
    currentPosition: () => ctx.stores.accountData.currentPosition(),
    async changesSince(userId, since, upTo) {
      const entries = await ctx.stores.accountData.changesSince(userId, since, upTo);
      const rebased = entries.map((entry) => (entry.roomId === null && entry.type === 'm.push_rules'
        ? { ...entry, content: pushRulesContent(effectiveRuleset(userId, entry.content)) }
        : entry));
      if (since === 0 && !rebased.some((entry) => entry.roomId === null && entry.type === 'm.push_rules')) {
        rebased.unshift({ roomId: null, type: 'm.push_rules', content: pushRulesContent(effectiveRuleset(userId, undefined)), position: 0 });
      }
      return rebased;
    },
  },
  receipts: {
    currentPosition: () => ctx.stores.receipts.currentPosition(),
    async changesSince(userId, roomIds, since, upTo) {
      return receiptContents(userId, await ctx.stores.receipts.changesSince(roomIds, since, upTo));
    },
  },
  typing: {
    currentPosition: () => ctx.typing.currentPosition(),
    changesSince: (roomIds, since, upTo) => ctx.typing.changesSince(roomIds, since, upTo),
  },
  toDevice: {
    currentPosition: () => ctx.stores.toDevice.currentPosition(),
    changesSince: (userId, deviceId, since, upTo, limit) => toDeviceChanges(ctx, userId, deviceId, since, upTo, limit),
  },
  deviceLists: {
    currentPosition: () => ctx.stores.keys.currentDeviceListPosition(),
    async changesSince(userId, since, upTo) {
      const sharing = await ctx.membership.usersSharingRoomsWith(userId);
      return (await ctx.stores.keys.deviceListChangesSince(since, upTo)).filter((changed) => changed === userId || sharing.has(changed));
    },
  },
  presence: {
    currentPosition: () => ctx.stores.presence.currentPosition(),
    async changesSince(userId, since, upTo) {
      const users = new Set(await ctx.membership.usersSharingRoomsWith(userId)).add(userId);
      const now = ctx.clock.now();
      return (await ctx.stores.presence.changesSince([...users], since, upTo))
        .map((state) => ({ type: 'm.presence', sender: state.userId, content: presenceContent(state, now, ctx.presence.timers.lastActiveGranularityMs) }));
    },
  },
  keyCounts: (userId, deviceId) => ctx.stores.keys.keyCounts(userId, deviceId),
});
