/**
 * One read model waiting for another: a search right after a send should find what /sync already
 * shows. The rooms projection gets this process's appends at once (appendedLocally.ts), the search
 * projection from the log's next batch, so the follower is a fetch behind at most; waiting for it is
 * bounded, so a stalled follower slows its readers down but never hangs them (they then read what it has).
 */
import type { RunningConsumer } from './consume.ts';

/**
 * Resolves once `follower` has applied, in each of `partitions`, everything `leader` had applied
 * when called; true, or false if `timeoutMs` passed first.
 */
export const caughtUpWith = async (
  leader: Pick<RunningConsumer, 'position'>, follower: Pick<RunningConsumer, 'waitFor'>, partitions: number, timeoutMs: number,
): Promise<boolean> => {
  const waits: Promise<boolean>[] = [];
  for (let partition = 0; partition < partitions; partition += 1) {
    const next = leader.position(partition);
    // A follower stopped by a failure is read as it is: the failure is its supervisor's to report.
    if (next !== undefined && next > 0) waits.push(follower.waitFor(partition, next - 1, timeoutMs).catch(() => false));
  }
  return (await Promise.all(waits)).every(Boolean);
};
