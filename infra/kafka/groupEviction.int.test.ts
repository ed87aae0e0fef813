import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { ConsumerHandlers } from '../../domain/index.ts';
import { createKafkaLog } from './index.ts';

const { kafkaBrokers } = inject('strataTestServices');
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const prefix = `strata-evict-${randomBytes(4).toString('hex')}`;
const SESSION_TIMEOUT_MS = 30_000;

const admin = new Kafka({ brokers: kafkaBrokers, clientId: `${prefix}-admin`, logLevel: logLevel.NOTHING }).admin();
afterAll(async () => {
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((group) => group.groupId).filter((id) => id.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups);
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
});

/** A process that joins `group` with kafkajs's default 30 s session, then dies by `kill -9`. */
const leaveDeadMember = async (group: string, topic: string): Promise<void> => {
  const script = `
    import { Kafka, logLevel } from 'kafkajs';
    const kafka = new Kafka({ brokers: ${JSON.stringify(kafkaBrokers)}, clientId: 'doomed', logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: ${JSON.stringify(group)}, sessionTimeout: ${SESSION_TIMEOUT_MS} });
    consumer.on(consumer.events.GROUP_JOIN, () => process.stdout.write('joined\\n'));
    await consumer.connect();
    await consumer.subscribe({ topics: [${JSON.stringify(topic)}], fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });`;
  // A bare kafkajs client, as another process may run it: its idle timer's warning is not this test's.
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', '--input-type=module', '-e', script], {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  while (!out.includes('joined')) {
    const [chunk] = (await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(() => { throw new Error('the doomed consumer exited'); })])) as [string];
    out += chunk;
  }
  child.kill('SIGKILL');
  await once(child, 'exit');
};

const handlers = (assigned: number[]): ConsumerHandlers => ({
  onAssigned: async (_topic, partitions) => {
    assigned.push(...partitions);
    return new Map(partitions.map((partition) => [partition, 0]));
  },
  onRevoked: async (_topic, partitions) => {
    for (const partition of partitions) assigned.splice(assigned.indexOf(partition), 1);
  },
  onBatch: async () => undefined,
});

const membersOf = async (group: string): Promise<string[]> => {
  await admin.connect();
  const { groups } = await admin.describeGroups([group]);
  return groups[0]?.members.map((member) => member.memberId) ?? [];
};

describe('a lease holder taking over its consumer groups', () => {
  it('removes the member a killed process left, so its join does not wait for that session to expire', async () => {
    const topic = `${prefix}-a`;
    const group = `${prefix}-group-a`;
    const log = await createKafkaLog({ brokers: kafkaBrokers, clientId: `${prefix}-a` });
    try {
      await log.ensureTopic(topic, 4);
      await leaveDeadMember(group, topic);
      expect(await membersOf(group)).toHaveLength(1);

      log.takeOverGroups();
      const assigned: number[] = [];
      const started = Date.now();
      const subscription = await log.subscribe({ group, topic }, handlers(assigned));
      expect(Date.now() - started).toBeLessThan(SESSION_TIMEOUT_MS / 3);
      expect([...assigned].sort()).toEqual([0, 1, 2, 3]);
      expect(await membersOf(group)).toHaveLength(1);
      await subscription.stop();
    } finally {
      await log.close();
    }
  });

  it('keeps the members this process runs', async () => {
    const topic = `${prefix}-b`;
    const group = `${prefix}-group-b`;
    const log = await createKafkaLog({ brokers: kafkaBrokers, clientId: `${prefix}-b` });
    try {
      await log.ensureTopic(topic, 4);
      log.takeOverGroups();
      const first: number[] = [];
      const second: number[] = [];
      const one = await log.subscribe({ group, topic }, handlers(first));
      const two = await log.subscribe({ group, topic }, handlers(second));
      // The first member rejoins after the second arrived, and the two share the partitions.
      const deadline = Date.now() + 20_000;
      while (first.length + second.length !== 4 || first.length === 0) {
        if (Date.now() > deadline) throw new Error(`partitions not shared: ${JSON.stringify({ first, second })}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await membersOf(group)).toHaveLength(2);
      expect(second.length).toBeGreaterThan(0);
      await Promise.all([one.stop(), two.stop()]);
    } finally {
      await log.close();
    }
  });
});
