/**
 * Removes the members a killed predecessor left in a consumer group. kafkajs has no static
 * membership, so a process killed with `kill -9` stays a member until its session times out (30 s),
 * and the group cannot finish a rebalance before then: a restarted process would wait that long
 * for its partitions. A process that holds its namespace's writer lease knows it is the only live
 * member of the namespace's groups, so before joining one it sends LeaveGroup on behalf of every
 * member it does not own itself; the group is then empty and the join completes at once.
 */
import type { Admin, Kafka } from 'kafkajs';
import { internalCluster, type InternalCluster } from './internals.ts';

export interface GroupEvictor {
  /** Removes every member of `groupId` not in `keep`; resolves with the member ids removed. */
  evict(groupId: string, keep: ReadonlySet<string>): Promise<string[]>;
  close(): Promise<void>;
}

/** Kafka's answer when the member left or expired meanwhile: nothing is left to remove. */
const GONE_ALREADY = new Set(['UNKNOWN_MEMBER_ID']);

export const createGroupEvictor = (kafka: Kafka, admin: Admin): GroupEvictor => {
  let cluster: InternalCluster | undefined;
  let connected: Promise<void> | undefined;
  return {
    async evict(groupId, keep) {
      const { groups } = await admin.describeGroups([groupId]);
      const stale = (groups.find((group) => group.groupId === groupId)?.members ?? [])
        .map((member) => member.memberId)
        .filter((memberId) => !keep.has(memberId));
      if (stale.length === 0) return [];
      cluster ??= internalCluster(kafka);
      connected ??= cluster.connect();
      await connected;
      const coordinator = await cluster.findGroupCoordinator({ groupId });
      for (const memberId of stale) {
        await coordinator.leaveGroup({ groupId, memberId }).catch((error: unknown) => {
          if (!GONE_ALREADY.has((error as { type?: string }).type ?? '')) throw error;
        });
      }
      return stale;
    },
    async close() {
      if (connected !== undefined) await cluster?.disconnect();
    },
  };
};
