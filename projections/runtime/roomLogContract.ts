/**
 * The checks domain/room/records.ts asks of every consumer of the room events topic, run by the
 * consumer runtime before a batch is applied:
 * - a record of unknown (type, v) is refused, not skipped;
 * - a record must be keyed by its room id (one room, one partition);
 * - `prevAcceptedEventId` chains: a `pdu.accepted` must name the last accepted event this consumer
 *   saw for its room. A different one is a gap (or a fork) in the log.
 * Chains are checked from what the consumer has seen in a partition without a hole: from offset 0
 * every room's first accepted event must name none; from a stored position, a room's first record
 * seen starts its chain (its predecessor was applied before this process started).
 */
import { isRoomRecord } from '../../domain/index.ts';
import type { LogEntry } from '../../domain/ports/index.ts';
import { LogContractError } from './failures.ts';

export interface Violation {
  /** Index in the entries checked of the first record that breaks the contract. */
  readonly index: number;
  readonly error: LogContractError;
}

export interface LogContract {
  /**
   * Checks one partition's entries in offset order; entries already checked are passed over.
   * Answers the first violation, leaving the entries before it checked and the rest unchecked.
   */
  check(partition: number, entries: readonly LogEntry[]): Violation | undefined;
  /** Partitions this consumer no longer owns: their chains are forgotten. */
  forget(partitions: readonly number[]): void;
}

interface PartitionChains {
  /** The next offset to check. */
  next: number;
  /** True when checking began at offset 0: every room's whole chain has been seen. */
  readonly complete: boolean;
  /** Room id → the last accepted event id seen. */
  readonly last: Map<string, string>;
}

const describe = (value: unknown): string => {
  if (typeof value !== 'object' || value === null) return `a ${value === null ? 'null' : typeof value} value`;
  const { type, v } = value as { type?: unknown; v?: unknown };
  return `type ${JSON.stringify(type)}, v ${JSON.stringify(v)}`;
};

const where = (entry: LogEntry): string => `${entry.topic}/${entry.partition}@${entry.offset}`;

/** The violation of one entry, given its partition's chains (which it then extends). */
const violationOf = (chains: PartitionChains, entry: LogEntry): LogContractError | undefined => {
  const record = entry.value;
  if (!isRoomRecord(record)) {
    return new LogContractError(`unknown room record (${describe(record)}) at ${where(entry)}: refusing to skip it`);
  }
  if (entry.key !== record.roomId) {
    return new LogContractError(`record of room ${record.roomId} keyed ${entry.key} at ${where(entry)}`);
  }
  if (record.type !== 'pdu.accepted') return undefined;
  const last = chains.last.get(record.roomId);
  const expected = last ?? (chains.complete ? null : undefined);
  if (expected !== undefined && record.prevAcceptedEventId !== expected) {
    return new LogContractError(`gap in room ${record.roomId} at ${where(entry)}: ${record.eventId} follows `
      + `${record.prevAcceptedEventId ?? 'nothing'} but the last accepted event seen was ${expected ?? 'none'}`);
  }
  chains.last.set(record.roomId, record.eventId);
  return undefined;
};

export const createRoomLogContract = (): LogContract => {
  const partitions = new Map<number, PartitionChains>();
  return {
    check(partition, entries) {
      for (let index = 0; index < entries.length; index++) {
        const entry = entries[index]!;
        let chains = partitions.get(partition);
        if (chains !== undefined && entry.offset < chains.next) continue;
        // A hole (another member applied the records between) leaves chains unknown from here.
        if (chains === undefined || entry.offset !== chains.next) {
          chains = { next: entry.offset, complete: entry.offset === 0, last: new Map() };
          partitions.set(partition, chains);
        }
        const error = violationOf(chains, entry);
        if (error !== undefined) return { index, error };
        chains.next = entry.offset + 1;
      }
      return undefined;
    },
    forget(forgotten) {
      for (const partition of forgotten) partitions.delete(partition);
    },
  };
};
