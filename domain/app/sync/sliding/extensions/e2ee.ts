/**
 * The `e2ee` extension (MSC3884): `device_lists` since the connection's last answer (computed as
 * `/keys/changes` computes them between two /sync tokens; absent on a connection's first answer, as
 * Synapse: the client must query every tracked user then), the device's one-time key counts and
 * unused fallback key types. Counts are news when they differ from the last ones sent, so a client
 * whose keys were claimed hears of it at once and uploads more.
 */
import type { JsonObject } from '../../../../json.ts';
import type { SyncContext, SyncRequester } from '../../context.ts';
import { deviceListChanges } from '../../keyChanges.ts';
import type { SyncPositions } from '../../token.ts';
import type { KeyCounts } from './state.ts';

const samePartitions = (a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): boolean =>
  [...new Set([...a.keys(), ...b.keys()])].every((partition) => (a.get(partition) ?? 0) === (b.get(partition) ?? 0));

const sameCounts = (a: KeyCounts, b: KeyCounts): boolean => {
  const keys = new Set([...Object.keys(a.oneTimeKeys), ...Object.keys(b.oneTimeKeys)]);
  const types = (counts: KeyCounts) => [...counts.unusedFallbackKeyTypes].sort().join('\u0000');
  return [...keys].every((key) => a.oneTimeKeys[key] === b.oneTimeKeys[key]) && types(a) === types(b);
};

export interface E2eeAnswer {
  /** Undefined when nothing changed since the last answer. */
  readonly answer: JsonObject | undefined;
  readonly keyCounts: KeyCounts;
}

export const e2eeAnswer = async (
  ctx: SyncContext, requester: SyncRequester, since: SyncPositions | undefined, upTo: SyncPositions, sent: KeyCounts | undefined,
): Promise<E2eeAnswer> => {
  const { userId, deviceId } = requester;
  const nothingMoved = since !== undefined && since.deviceLists >= upTo.deviceLists && samePartitions(since.rooms, upTo.rooms);
  const [counts, deviceLists] = await Promise.all([
    // A request without a device (an application service's user) has no keys to count, as in Synapse.
    deviceId === '' ? { oneTimeKeyCounts: {}, unusedFallbackKeyTypes: [] } : ctx.userData.streams.keyCounts(userId, deviceId),
    since === undefined ? undefined : nothingMoved ? { changed: [], left: [] } : deviceListChanges(ctx, userId, since, upTo),
  ]);
  // `signed_curve25519` is always counted, as Synapse and v3 /sync do (clients read 0 as "upload").
  const keyCounts: KeyCounts = {
    oneTimeKeys: deviceId === '' ? {} : { signed_curve25519: 0, ...counts.oneTimeKeyCounts }, unusedFallbackKeyTypes: counts.unusedFallbackKeyTypes,
  };
  const listsChanged = deviceLists !== undefined && (deviceLists.changed.length > 0 || deviceLists.left.length > 0);
  if (since !== undefined && sent !== undefined && !listsChanged && sameCounts(sent, keyCounts)) return { answer: undefined, keyCounts };
  return {
    answer: {
      device_one_time_keys_count: { ...keyCounts.oneTimeKeys },
      device_unused_fallback_key_types: [...keyCounts.unusedFallbackKeyTypes],
      ...(deviceLists === undefined ? {} : { device_lists: { changed: deviceLists.changed, left: deviceLists.left } }),
    },
    keyCounts,
  };
};
