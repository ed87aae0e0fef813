/**
 * What a room's writer remembers of transaction ids (client-server-api § Transaction identifiers:
 * a retried request with the same id answers the first event). Per device, the ids it used in the
 * room are read once, when it first sends after the room was loaded, and kept up to date in memory
 * from then on, so a send does not ask the database whether its id is new. A device with more ids
 * than memory holds is "incomplete": an id not found in memory is then looked up in the read model.
 */
import { BoundedMap } from '../../boundedMap.ts';
import type { LocalOrigin } from '../../room/index.ts';

/** Ids read from the database per device; more and the device is looked up per send. */
export const PRELOADED_TRANSACTIONS = 1000;
/** Ids kept per device; beyond, the oldest are dropped and the device becomes incomplete. */
const MAX_TRANSACTIONS_PER_DEVICE = 10_000;
/** Devices remembered per room, least recently sending dropped first (read again when they return). */
const MAX_DEVICES_PER_ROOM = 1000;

export interface SentTransaction<A> {
  readonly eventId: string;
  /** Where its records land, while this process appended them (a retry answers once they are readable). */
  readonly appended?: Promise<A>;
}

export interface DeviceTransactions<A> {
  readonly sent: Map<string, SentTransaction<A>>;
  /** Every id the device used in the room is in `sent`. */
  complete: boolean;
}

/** The read model's answer for one device: its ids → first event ids, and whether that is all of them. */
export interface StoredTransactions {
  readonly byTxnId: ReadonlyMap<string, string>;
  readonly complete: boolean;
}

export const deviceKeyOf = (local: LocalOrigin): string => `${local.userId}\u0000${local.deviceId ?? ''}`;

export class RoomTransactions<A> {
  readonly #devices = new BoundedMap<string, DeviceTransactions<A>>(MAX_DEVICES_PER_ROOM);

  /** The device's memory (marked recently used), if it has one. */
  known(key: string): DeviceTransactions<A> | undefined {
    return this.#devices.touch(key);
  }

  /** Starts the device's memory from what the read model holds for it. */
  add(key: string, stored: StoredTransactions): DeviceTransactions<A> {
    const device: DeviceTransactions<A> = {
      sent: new Map([...stored.byTxnId].map(([txnId, eventId]) => [txnId, { eventId }])),
      complete: stored.complete,
    };
    this.#devices.set(key, device);
    return device;
  }
}

export const rememberTransaction = <A>(device: DeviceTransactions<A>, txnId: string, sent: SentTransaction<A>): void => {
  device.sent.set(txnId, sent);
  if (device.sent.size > MAX_TRANSACTIONS_PER_DEVICE) {
    device.sent.delete(device.sent.keys().next().value!);
    device.complete = false;
  }
};
