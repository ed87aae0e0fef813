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
}

export const NO_EXTRAS: TransactionExtras = { ephemeral: [], toDevice: [] };

/**
 * The transaction body: `events` always; for a bridge that opted in to ephemeral data, `ephemeral`
 * under the stable name and MSC2409's unstable one (a registration may have asked under either key),
 * and the to-device messages under MSC2409's name, as Synapse sends them.
 */
export const transactionBody = (registration: AppserviceRegistration, events: readonly JsonObject[], extras: TransactionExtras): JsonObject => {
  const body: JsonObject = { events: [...events] };
  if (!registration.receiveEphemeral) return body;
  body.ephemeral = [...extras.ephemeral];
  body['de.sorunome.msc2409.ephemeral'] = [...extras.ephemeral];
  body['de.sorunome.msc2409.to_device'] = [...extras.toDevice];
  return body;
};
