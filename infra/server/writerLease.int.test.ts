import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { RoomLog } from '../../domain/index.ts';
import { createEmbeddedLog } from '../embedded/index.ts';
import { createKafkaLog, withNamespace } from '../kafka/index.ts';
import { SERVER_TOPIC } from './backends.ts';
import { probeLog } from './instance.ts';
import { currentProcess, type HolderProcess } from './processIdentity.ts';
import { StartupError } from './startupError.ts';
import { acquireWriterLease, withWriterLease, WRITER_LEASE_TOPIC, type WriterLeaseOptions } from './writerLease.ts';

const { kafkaBrokers } = inject('strataTestServices');

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const elsewhere: HolderProcess = { host: 'elsewhere.example', pid: 4242 };
/** This process as an earlier incarnation with the same pid would look (a container's pid 1 after kill -9). */
const earlierIncarnation = (): HolderProcess => ({ ...currentProcess(), startTicks: '1' });
const TIMING = { termMs: 1_500, renewEveryMs: 200, skewMs: 200 } as const;

/** `log` whose appends can be made to fail, as when the brokers stop answering. */
const interruptible = (log: RoomLog) => {
  let failing = false;
  return {
    log: { ...log, append: (topic, records) => (failing ? Promise.reject(new Error('log unreachable')) : log.append(topic, records)) } satisfies RoomLog,
    fail: (value: boolean) => { failing = value; },
  };
};

const until = async (condition: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

const describeWriterLease = (name: string, open: () => Promise<RoomLog>, cleanup: () => Promise<void>) => {
  describe(`the writer lease on ${name}`, () => {
    afterAll(cleanup);
    const options = (log: RoomLog, self: HolderProcess, extra: Partial<WriterLeaseOptions> = {}): WriterLeaseOptions =>
      ({ log, self, where: 'the test log', logger: quiet, ...TIMING, ...extra });

    it('refuses a second holder while the first renews, and passes on at once after a release', async () => {
      const log = await open();
      try {
        const first = await acquireWriterLease(options(log, currentProcess()));
        expect(first.held()).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, TIMING.termMs + TIMING.skewMs));
        // Renewals kept it: a term later it is still held, and refused to others.
        expect(first.held()).toBe(true);
        const refused = await acquireWriterLease(options(log, elsewhere)).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(StartupError);
        expect((refused as Error).message).toMatch(new RegExp(
          `^another Strata process \\(pid ${process.pid} on .+\\) holds the writer lease of the test log, renewed [\\d.]+ s ago; only one process may write a log namespace`,
        ));

        await first.release();
        expect(first.held()).toBe(false);
        const second = await acquireWriterLease(options(log, elsewhere));
        expect(second.held()).toBe(true);
        await second.release();
      } finally {
        await log.close();
      }
    });

    it('is taken over at once from a holder that is provably gone, who then learns it lost the lease', async () => {
      const log = await open();
      try {
        const gone = await acquireWriterLease(options(log, earlierIncarnation()));
        const successor = await acquireWriterLease(options(log, currentProcess()));
        expect(successor.held()).toBe(true);
        await until(() => !gone.held());
        expect(gone.problem()).toBe(`the writer lease was taken over by pid ${process.pid} on ${currentProcess().host}`);
        await expect(withWriterLease(log, gone).append('strata.test', [{ key: 'k', value: 1 }]))
          .rejects.toThrow(`this process may not write the log: the writer lease was taken over by pid ${process.pid}`);
        await successor.release();
      } finally {
        await log.close();
      }
    });

    it('lapses when renewals fail for a term, comes back if nobody took it, and is lost for good once another did', async () => {
      const log = await open();
      const { log: flaky, fail } = interruptible(log);
      try {
        await log.ensureTopic(SERVER_TOPIC, 1);
        const lease = await acquireWriterLease(options(flaky, elsewhere));
        fail(true);
        await until(() => !lease.held());
        expect(lease.problem()).toBe('the writer lease lapsed: no renewal for 1.5 s');
        await expect(withWriterLease(flaky, lease).append('strata.test', [{ key: 'k', value: 1 }])).rejects.toThrow('lapsed');
        // /health's log check fails with it, so the process leaves the rotation.
        await expect(probeLog(flaky, lease)).rejects.toThrow('the writer lease lapsed');
        fail(false);
        await until(() => lease.held());
        await probeLog(flaky, lease);

        fail(true);
        await until(() => !lease.held());
        // Expired (term plus skew) from another host's point of view: a successor takes it.
        await new Promise((resolve) => setTimeout(resolve, TIMING.skewMs + 100));
        const successor = await acquireWriterLease(options(log, currentProcess()));
        fail(false);
        await until(() => lease.problem()?.startsWith('the writer lease was taken over') === true);
        await new Promise((resolve) => setTimeout(resolve, 3 * TIMING.renewEveryMs));
        expect(lease.held()).toBe(false);
        expect(successor.held()).toBe(true);
        await Promise.all([lease.release(), successor.release()]);
      } finally {
        await log.close();
      }
    });

    it('waits out a holder that stopped renewing (crashed on another machine) instead of refusing', async () => {
      const log = await open();
      const { log: flaky, fail } = interruptible(log);
      try {
        const crashed = await acquireWriterLease(options(flaky, elsewhere));
        fail(true);
        await new Promise((resolve) => setTimeout(resolve, 3 * TIMING.renewEveryMs + TIMING.skewMs));
        const warnings: string[] = [];
        const successor = await acquireWriterLease(options(log, currentProcess(), {
          logger: { ...quiet, warn: (_: object, message: string) => { warnings.push(message); } },
        }));
        expect(successor.held()).toBe(true);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(/^waiting [\d.]+ s for the writer lease of pid 4242 on elsewhere\.example to expire: not renewed for [\d.]+ s$/);
        await until(() => !crashed.held());
        await Promise.all([crashed.release(), successor.release()]);
      } finally {
        await log.close();
      }
    });

    it('ignores records that lost a race: the current lease is the newest record that landed where it expected', async () => {
      const log = await open();
      try {
        const lease = await acquireWriterLease(options(log, elsewhere));
        // A record claiming an offset it did not get (a racer's) changes nothing.
        const end = await log.endOffset(WRITER_LEASE_TOPIC, 0);
        await log.append(WRITER_LEASE_TOPIC, [{ key: 'writer', value: {
          type: 'writer.lease', v: 1, holding: 'racer', holder: { host: 'racer.example', pid: 1 }, expected_offset: end - 1,
          renewed_at: Date.now(), expires_at: Date.now() + 60_000, released: false,
        } }]);
        await new Promise((resolve) => setTimeout(resolve, 3 * TIMING.renewEveryMs));
        expect(lease.held()).toBe(true);
        await expect(acquireWriterLease(options(log, currentProcess()))).rejects.toThrow('pid 4242 on elsewhere.example');
        await lease.release();
      } finally {
        await log.close();
      }
    });
  });
};

const namespace = `lease-${randomBytes(4).toString('hex')}`;
describeWriterLease(
  'Kafka',
  async () => withNamespace(await createKafkaLog({ brokers: kafkaBrokers, clientId: 'strata-lease-test' }), namespace),
  async () => {
    const admin = new Kafka({ brokers: kafkaBrokers, clientId: 'strata-lease-cleanup', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(`${namespace}.`));
      if (topics.length > 0) await admin.deleteTopics({ topics });
    } finally {
      await admin.disconnect();
    }
  },
);

let embeddedDir: string | undefined;
describeWriterLease(
  'the embedded log',
  async () => {
    embeddedDir ??= await mkdtemp(path.join(tmpdir(), 'strata-lease-'));
    return createEmbeddedLog({ dir: embeddedDir });
  },
  async () => {
    if (embeddedDir !== undefined) await rm(embeddedDir, { recursive: true, force: true });
  },
);
