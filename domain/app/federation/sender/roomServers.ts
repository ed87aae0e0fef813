/**
 * The joined servers of the rooms the sender has sent to lately, followed record by record in log
 * order so the members need not be read for every event. A room's entry is dropped — and read
 * again from the read model when next needed — whenever a record changes its memberships in a way
 * the record alone does not tell: a state delta changing members through other events (state
 * resolution), or a record type that may change state other than `pdu.accepted` (`state.imported`
 * on a join through another server, or a type yet to come).
 */
import { BoundedMap } from '../../../boundedMap.ts';
import { isJsonObject } from '../../../json.ts';
import type { AnyPduAccepted } from '../../../room/index.ts';
import { JoinedServers, membershipEffectOf } from './destinations.ts';

/** Record types that change no room state (domain/room/records.ts). */
const STATE_NEUTRAL_TYPES: ReadonlySet<unknown> = new Set(['pdu.softFailed', 'pdu.rejected', 'pdu.outlier', 'pdu.backfilled', 'membership.outOfBand']);

/** A log value as a `pdu.accepted` record (either version), or undefined for anything else. */
export const acceptedRecordOf = (value: unknown): AnyPduAccepted | undefined => {
  if (!isJsonObject(value) || value.type !== 'pdu.accepted' || (value.v !== 1 && value.v !== 2)) return undefined;
  if (typeof value.roomId !== 'string' || typeof value.eventId !== 'string' || !isJsonObject(value.pdu) || !Array.isArray(value.stateDelta)) return undefined;
  return value as unknown as AnyPduAccepted;
};

export class RoomServersCache {
  readonly #rooms: BoundedMap<string, { readonly partition: number; readonly servers: JoinedServers }>;

  constructor(capacity: number) {
    this.#rooms = new BoundedMap(capacity);
  }

  /** Follows one record of the log; answers it when it is a `pdu.accepted`. */
  follow(value: unknown): AnyPduAccepted | undefined {
    const record = acceptedRecordOf(value);
    if (record === undefined) {
      if (isJsonObject(value) && typeof value.roomId === 'string' && !STATE_NEUTRAL_TYPES.has(value.type)) this.#rooms.delete(value.roomId);
      return undefined;
    }
    const known = this.#rooms.touch(record.roomId);
    if (known === undefined) return record;
    const effect = membershipEffectOf(record);
    if (effect.kind === 'own') known.servers.set(effect.userId, effect.membership);
    else if (effect.kind === 'reload') this.#rooms.delete(record.roomId);
    return record;
  }

  /** The room's joined servers after the last record followed, if known. */
  get(roomId: string): JoinedServers | undefined {
    return this.#rooms.get(roomId)?.servers;
  }

  /** Starts following a room from its members as the read model holds them after the last record followed. */
  set(roomId: string, partition: number, servers: JoinedServers): void {
    this.#rooms.set(roomId, { partition, servers });
  }

  /** Forgets the rooms of partitions this process no longer consumes (or consumes again from a stored position). */
  forgetPartitions(partitions: readonly number[]): void {
    const revoked = new Set(partitions);
    for (const [roomId, known] of this.#rooms) if (revoked.has(known.partition)) this.#rooms.delete(roomId);
  }
}
