/**
 * In-process consumer groups for the embedded log. Members of one group (per topic) share its
 * partitions round-robin in join order (partition p goes to member p mod n). Joins, stops and
 * failures are applied one at a time: partitions that move are first stopped and revoked from
 * their old owner (onRevoked), then offered to the new owner (onAssigned), so a partition is never
 * consumed by two members at once. Partitions that stay put keep running. Each assigned partition
 * has a worker that reads batches from the offset onAssigned returned and sleeps until the next
 * acknowledged append when it has caught up.
 */
import type { ConsumerHandlers, LogEntry, Subscription } from '../../domain/ports/index.ts';

/** What a group needs from a topic. */
export interface PartitionSource {
  readonly topic: string;
  readonly partitions: number;
  read(partition: number, fromOffset: number, max: number): Promise<LogEntry[]>;
  endOffset(partition: number): number;
  /** Resolves on the partition's next acknowledged append. */
  nextAppend(partition: number): Promise<void>;
}

class PartitionWorker {
  readonly partition: number;
  readonly #member: Member;
  #position: number;
  #stopping = false;
  #wakeOnStop: () => void = () => undefined;
  readonly #stopped: Promise<void>;
  readonly #finished: Promise<void>;

  constructor(member: Member, partition: number, position: number) {
    this.#member = member;
    this.partition = partition;
    this.#position = position;
    this.#stopped = new Promise((resolve) => (this.#wakeOnStop = resolve));
    this.#finished = this.#run();
  }

  async #run(): Promise<void> {
    const { source, handlers, maxBatchSize } = this.#member;
    try {
      while (!this.#stopping) {
        // Checking the end and waiting happen in one tick, so no append can slip in between.
        if (source.endOffset(this.partition) <= this.#position) {
          await Promise.race([source.nextAppend(this.partition), this.#stopped]);
          await this.#gather();
          continue;
        }
        const entries = await source.read(this.partition, this.#position, maxBatchSize);
        if (this.#stopping || entries.length === 0) continue;
        await handlers.onBatch({
          topic: source.topic, partition: this.partition, entries, highWatermark: source.endOffset(this.partition),
        });
        this.#position = entries[entries.length - 1].offset + 1;
      }
    } catch (error) {
      this.#member.fail(error);
    }
  }

  /**
   * A member that may take records late (its lingerMs) lets them gather after the first arrives,
   * until the linger ends or a full batch waits: fewer, larger batches, as a Kafka fetch with a
   * minimum size and a wait time serves them.
   */
  async #gather(): Promise<void> {
    const { source, maxBatchSize, lingerMs } = this.#member;
    if (lingerMs <= 0) return;
    // Over when the timer fires, not by another clock: the timer's may run a little ahead of it,
    // and the loop would then spin on the settled `lingered` until that clock caught up.
    let over = false;
    let timer: NodeJS.Timeout | undefined;
    const lingered = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        over = true;
        resolve();
      }, lingerMs);
    });
    try {
      while (!over && !this.#stopping && source.endOffset(this.partition) - this.#position < maxBatchSize) {
        await Promise.race([source.nextAppend(this.partition), lingered, this.#stopped]);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops after the batch in flight. */
  stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeOnStop();
    return this.#finished;
  }
}

type MemberState = 'active' | 'stopping' | 'failed' | 'gone';

class Member implements Subscription {
  readonly group: ConsumerGroup;
  readonly source: PartitionSource;
  readonly handlers: ConsumerHandlers;
  readonly maxBatchSize: number;
  /** How long records may gather before this member takes them (0: at once). */
  readonly lingerMs: number;
  readonly workers = new Map<number, PartitionWorker>();
  state: MemberState = 'active';
  failure: unknown = undefined;
  readonly done: Promise<void>;
  settle: (error?: unknown) => void = () => undefined;

  constructor(group: ConsumerGroup, handlers: ConsumerHandlers, maxBatchSize: number, lingerMs: number) {
    this.group = group;
    this.source = group.source;
    this.handlers = handlers;
    this.maxBatchSize = maxBatchSize;
    this.lingerMs = lingerMs;
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // `done` is the caller's to observe; a rejection must not count as unhandled before they look.
    this.done.catch(() => undefined);
  }

  /** A method, so checks after an await are not narrowed away by the compiler. */
  hasFailed(): boolean {
    return this.state === 'failed';
  }

  /** A handler threw: leave the group without calling more handlers, then reject `done`. */
  fail(error: unknown): void {
    if (this.state === 'failed' || this.state === 'gone') return;
    this.state = 'failed';
    this.failure = error;
    void this.group.leave(this);
  }

  async stop(): Promise<void> {
    if (this.state === 'active') {
      this.state = 'stopping';
      await this.group.leave(this);
    }
    await this.done.catch(() => undefined);
  }

  async stopWorkers(partitions: readonly number[]): Promise<void> {
    await Promise.all(partitions.map((partition) => this.workers.get(partition)?.stop()));
    for (const partition of partitions) this.workers.delete(partition);
  }
}

export class ConsumerGroup {
  readonly source: PartitionSource;
  #members: Member[] = [];
  #queue: Promise<void> = Promise.resolve();

  constructor(source: PartitionSource) {
    this.source = source;
  }

  get size(): number {
    return this.#members.length;
  }

  async join(handlers: ConsumerHandlers, maxBatchSize: number, lingerMs: number): Promise<Subscription> {
    const member = new Member(this, handlers, maxBatchSize, lingerMs);
    await this.#serially(async () => {
      this.#members.push(member);
      await this.#rebalance();
    });
    return member;
  }

  leave(member: Member): Promise<void> {
    return this.#serially(async () => {
      if (!this.#members.includes(member)) return;
      await this.#remove(member);
      await this.#rebalance();
    });
  }

  /** Stops every member (used when the log closes). */
  async stopAll(): Promise<void> {
    await Promise.all(this.#members.map((member) => member.stop()));
  }

  #serially(operation: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(operation);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Takes a stopping or failed member out: its partitions stop; only a clean stop revokes them. */
  async #remove(member: Member): Promise<void> {
    this.#members = this.#members.filter((other) => other !== member);
    const partitions = [...member.workers.keys()].sort((a, b) => a - b);
    await member.stopWorkers(partitions);
    if (member.state === 'stopping' && partitions.length > 0) {
      try {
        await member.handlers.onRevoked(this.source.topic, partitions);
      } catch (error) {
        member.state = 'failed';
        member.failure = error;
      }
    }
    const failed = member.state === 'failed';
    member.state = 'gone';
    member.settle(failed ? member.failure : undefined);
  }

  /** Moves partitions to the round-robin target; repeats while members fail along the way. */
  async #rebalance(): Promise<void> {
    for (;;) {
      const failed = this.#members.filter((member) => member.state === 'failed');
      for (const member of failed) await this.#remove(member);
      // A stopping member is about to leave: its partitions go to the members that stay.
      const members = this.#members.filter((member) => member.state === 'active');
      const target = new Map<Member, number[]>(members.map((member) => [member, []]));
      for (let partition = 0; partition < this.source.partitions && members.length > 0; partition++) {
        target.get(members[partition % members.length])?.push(partition);
      }
      for (const member of this.#members) {
        if (member.state === 'failed') continue;
        const keep = new Set(target.get(member));
        const revoked = [...member.workers.keys()].filter((partition) => !keep.has(partition)).sort((a, b) => a - b);
        if (revoked.length === 0) continue;
        await member.stopWorkers(revoked);
        await member.handlers.onRevoked(this.source.topic, revoked).catch((error: unknown) => member.fail(error));
      }
      for (const member of members) {
        if (member.state === 'failed') continue;
        const added = (target.get(member) ?? []).filter((partition) => !member.workers.has(partition));
        if (added.length === 0) continue;
        try {
          const offsets = await member.handlers.onAssigned(this.source.topic, added);
          for (const partition of added) {
            const offset = offsets.get(partition) ?? 0;
            if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`onAssigned gave partition ${partition} offset ${offset}`);
          }
          if (member.hasFailed()) continue;
          for (const partition of added) member.workers.set(partition, new PartitionWorker(member, partition, offsets.get(partition) ?? 0));
        } catch (error) {
          member.fail(error);
        }
      }
      if (!this.#members.some((member) => member.state === 'failed')) return;
    }
  }
}
