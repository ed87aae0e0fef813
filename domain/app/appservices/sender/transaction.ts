/**
 * Transactions to a bridge (application-service-api.md § Pushing events, transactions.yaml;
 * Synapse's `ApplicationServiceApi.push_bulk` and scheduler): at most 100 events, 100 ephemeral
 * events and 100 to-device messages each, under an id that counts up per bridge and is never
 * reused for other contents — a retry resends the same id with the same events, so the bridge drops
 * what it already has. One transaction is in flight per bridge; every failure (unreachable, 5xx,
 * and 4xx alike, as Synapse) is retried after a backoff, nothing is ever dropped.
 */
import type { AppserviceRegistration } from '../../../appservices/index.ts';
import type { JsonObject } from '../../../json.ts';
import type { BackoffSettings } from '../../federation/sender/index.ts';

export const MAX_EVENTS_PER_TRANSACTION = 100;
export const MAX_EPHEMERAL_PER_TRANSACTION = 100;
export const MAX_TO_DEVICE_PER_TRANSACTION = 100;

/**
 * How long a bridge rests after failed transactions: 1 s doubled per further failure, up to 5
 * minutes (Synapse's recoverer doubles from 2 s to 512 s). A bridge answering again is caught up at
 * the next try; a new event does not cut a rest short.
 */
export const DEFAULT_APPSERVICE_BACKOFF: BackoffSettings = { startMs: 1_000, maxMs: 5 * 60_000 };

/** What one transaction carries, beside its persistent events. */
export interface TransactionExtras {
  /** `m.typing`, `m.receipt` and `m.presence` events (MSC2409, `receive_ephemeral`). */
  readonly ephemeral: readonly JsonObject[];
  /** To-device messages for the bridge's users, each with `to_user_id` and `to_device_id` (MSC4203). */
  readonly toDevice: readonly JsonObject[];
  /** MSC3202: users whose device lists changed (`left` stays empty, as Synapse leaves it). */
  readonly deviceLists?: { readonly changed: readonly string[]; readonly left: readonly string[] };
}

/** MSC3202: the one-time key counts and unused fallback key types of the bridge's users' devices, per user and device. */
export interface DeviceKeyCounts {
  readonly oneTimeKeyCounts: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, number>>>>>>;
  readonly unusedFallbackKeyTypes: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

export const NO_EXTRAS: TransactionExtras = { ephemeral: [], toDevice: [] };

/**
 * The transaction body: `events` always; for a bridge that opted in to ephemeral data, `ephemeral`
 * under the stable name and MSC2409's unstable one (a registration may have asked under either key),
 * and the to-device messages under MSC2409's name; for an MSC3202 bridge, what is not empty of its
 * device lists and key counts (the counts under both names Synapse has used) — as Synapse sends them.
 */
export const transactionBody = (
  registration: AppserviceRegistration, events: readonly JsonObject[], extras: TransactionExtras, keys?: DeviceKeyCounts,
): JsonObject => {
  const body: JsonObject = { events: [...events] };
  if (registration.receiveEphemeral) {
    body.ephemeral = [...extras.ephemeral];
    body['de.sorunome.msc2409.ephemeral'] = [...extras.ephemeral];
    body['de.sorunome.msc2409.to_device'] = [...extras.toDevice];
  }
  if (!registration.msc3202) return body;
  if (keys !== undefined && Object.keys(keys.oneTimeKeyCounts).length > 0) {
    body['org.matrix.msc3202.device_one_time_key_counts'] = keys.oneTimeKeyCounts as JsonObject;
    body['org.matrix.msc3202.device_one_time_keys_count'] = keys.oneTimeKeyCounts as JsonObject;
  }
  if (keys !== undefined && Object.keys(keys.unusedFallbackKeyTypes).length > 0) {
    body['org.matrix.msc3202.device_unused_fallback_key_types'] = keys.unusedFallbackKeyTypes as JsonObject;
  }
  const lists = extras.deviceLists;
  if (lists !== undefined && lists.changed.length + lists.left.length > 0) {
    body['org.matrix.msc3202.device_lists'] = { changed: [...lists.changed], left: [...lists.left] };
  }
  return body;
};

/**
 * The users whose device key counts an MSC3202 transaction carries (Synapse's
 * `_compute_msc3202_otk_counts_and_fallback_keys`): the bridge's sender, its users joined to the
 * rooms of the transaction's events and ephemeral events, and the recipients of its to-device messages.
 */
export const keyCountUsers = (
  registration: AppserviceRegistration, events: readonly JsonObject[], extras: TransactionExtras,
  bridgeUsersIn: (roomId: string) => Iterable<string>,
): string[] => {
  const users = new Set<string>([registration.sender]);
  const rooms = new Set<string>();
  for (const event of [...events, ...extras.ephemeral]) if (typeof event.room_id === 'string') rooms.add(event.room_id);
  for (const roomId of rooms) for (const user of bridgeUsersIn(roomId)) users.add(user);
  for (const message of extras.toDevice) if (typeof message.to_user_id === 'string') users.add(message.to_user_id);
  return [...users];
};
