/**
 * What the appservice sender knows of the rooms it has looked at lately, followed record by record
 * in log order so the members need not be read for every event (as the federation sender's
 * RoomServersCache): this server's joined users, and the room's directory aliases. A room's entry
 * is dropped — and read again from the read model when next needed — whenever a record changes its
 * memberships in a way the record alone does not tell (state resolution, `state.imported`, a type
 * yet to come). Aliases live in the directory, not the log, so they are read again once they are
 * older than ALIASES_FRESH_MS. Which bridges are interested in the room is kept beside the facts and
 * forgotten whenever they change.
 */
import { BoundedMap } from '../../../boundedMap.ts';
import { isJsonObject } from '../../../json.ts';
import type { RoomFacts } from '../../../appservices/index.ts';
import type { AnyPduAccepted } from '../../../room/index.ts';
import { acceptedRecordOf, membershipEffectOf, serverOfUserId } from '../../federation/sender/index.ts';

/** How long a room's aliases are taken as read (the directory changes outside the log). */
export const ALIASES_FRESH_MS = 2_000;

/** Record types that change no room state (domain/room/records.ts). */
const STATE_NEUTRAL_TYPES: ReadonlySet<unknown> = new Set(['pdu.softFailed', 'pdu.rejected', 'pdu.outlier', 'pdu.backfilled', 'membership.outOfBand']);

/** A room as the sender holds it: RoomFacts plus what it decided about each bridge. */
export class KnownRoom implements RoomFacts {
  readonly roomId: string;
  readonly partition: number;
  readonly #members: Set<string>;
  #aliases: readonly string[];
  #aliasesReadAt: number;
  /** Registration id → whether the bridge is interested in the room (isInterestedInRoom), as last decided. */
  readonly interest = new Map<string, boolean>();

  constructor(roomId: string, partition: number, localMembers: Iterable<string>, aliases: readonly string[], now: number) {
    this.roomId = roomId;
    this.partition = partition;
    this.#members = new Set(localMembers);
    this.#aliases = aliases;
    this.#aliasesReadAt = now;
  }

  get aliases(): readonly string[] {
    return this.#aliases;
  }

  get localMembers(): Iterable<string> {
    return this.#members;
  }

  aliasesStale(now: number): boolean {
    return now - this.#aliasesReadAt >= ALIASES_FRESH_MS;
  }

  setAliases(aliases: readonly string[], now: number): void {
    this.#aliasesReadAt = now;
    const same = aliases.length === this.#aliases.length && aliases.every((alias, i) => alias === this.#aliases[i]);
    this.#aliases = aliases;
    if (!same) this.interest.clear();
  }

  /** A local user's membership now (idempotent). */
  setMembership(userId: string, membership: string): void {
    const had = this.#members.has(userId);
    if (membership === 'join') this.#members.add(userId);
    else this.#members.delete(userId);
    if (had !== this.#members.has(userId)) this.interest.clear();
  }
}

/** This server's joined users among a room's member events (`state_key` is the user). */
export const localJoinedMembers = (
  memberEvents: readonly { readonly pdu: { readonly state_key?: unknown; readonly content?: unknown } }[], serverName: string,
): string[] => memberEvents.flatMap(({ pdu }) => (typeof pdu.state_key === 'string' && serverOfUserId(pdu.state_key) === serverName
  && isJsonObject(pdu.content) && pdu.content.membership === 'join' ? [pdu.state_key] : []));

export class RoomFactsCache {
  readonly #rooms: BoundedMap<string, KnownRoom>;
  readonly #serverName: string;

  constructor(capacity: number, serverName: string) {
    this.#rooms = new BoundedMap(capacity);
    this.#serverName = serverName;
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
    if (effect.kind === 'reload') this.#rooms.delete(record.roomId);
    else if (effect.kind === 'own' && serverOfUserId(effect.userId) === this.#serverName) known.setMembership(effect.userId, effect.membership);
    return record;
  }

  /** The room after the last record followed, if known. */
  get(roomId: string): KnownRoom | undefined {
    return this.#rooms.get(roomId);
  }

  /** Starts following a room from its facts as the read model holds them after the last record followed. */
  set(room: KnownRoom): void {
    this.#rooms.set(room.roomId, room);
  }

  /** Forgets the rooms of partitions this process no longer consumes (or consumes again from a stored position). */
  forgetPartitions(partitions: readonly number[]): void {
    const revoked = new Set(partitions);
    for (const [roomId, known] of this.#rooms) if (revoked.has(known.partition)) this.#rooms.delete(roomId);
  }
}
