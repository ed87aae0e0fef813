import { mkdtemp, readFile, rm, stat, truncate, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeRoomLogContract } from '../../test/contracts/index.ts';
import { createEmbeddedLog } from './index.ts';

const contractDir = await mkdtemp(path.join(os.tmpdir(), 'strata-embedded-contract-'));
describeRoomLogContract(
  'embedded',
  () => createEmbeddedLog({ dir: contractDir }),
  () => rm(contractDir, { recursive: true, force: true }),
);

describe('embedded log files', () => {
  const dirs: string[] = [];
  const freshDir = async (): Promise<string> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strata-embedded-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('cuts a torn last record off a segment on open, keeping the complete ones', async () => {
    const dir = await freshDir();
    const key = '!torn:example.org';
    const first = await createEmbeddedLog({ dir });
    await first.ensureTopic('rooms', 2);
    const partition = await first.partitionFor('rooms', key);
    await first.append('rooms', [1, 2, 3].map((n) => ({ key, value: { n, body: 'hello' } })));
    await first.close();

    const segmentPath = path.join(dir, 'rooms', `${partition}.log`);
    const complete = (await stat(segmentPath)).size;
    // A crash in the middle of the fourth record: its header and half its payload reached disk.
    const reopened = await createEmbeddedLog({ dir });
    await reopened.append('rooms', [{ key, value: { n: 4, body: 'hello' } }]);
    await reopened.close();
    const withFourth = (await stat(segmentPath)).size;
    await truncate(segmentPath, complete + Math.floor((withFourth - complete) / 2));

    const warnings: object[] = [];
    const recovered = await createEmbeddedLog({ dir, logger: { warn: (details) => warnings.push(details) } });
    expect(await recovered.endOffset('rooms', partition)).toBe(3);
    expect((await stat(segmentPath)).size).toBe(complete);
    expect(warnings).toEqual([{ path: segmentPath, truncatedBytes: Math.floor((withFourth - complete) / 2), validBytes: complete }]);
    expect(await recovered.append('rooms', [{ key, value: { n: 5 } }])).toEqual([{ partition, offset: 3 }]);
    expect((await recovered.read('rooms', partition, 0, 10)).map((entry) => (entry.value as { n: number }).n)).toEqual([1, 2, 3, 5]);
    await recovered.close();
  });

  it('cuts a record whose checksum does not match (garbage at the tail)', async () => {
    const dir = await freshDir();
    const log = await createEmbeddedLog({ dir });
    await log.ensureTopic('rooms', 1);
    await log.append('rooms', [{ key: 'a', value: 1 }, { key: 'a', value: 2 }]);
    await log.close();
    const segmentPath = path.join(dir, 'rooms', '0.log');
    const size = (await stat(segmentPath)).size;
    // A well-formed header promising 10 bytes, followed by 10 bytes that do not match its CRC.
    const header = Buffer.alloc(8);
    header.writeUInt32BE(10, 0);
    header.writeUInt32BE(12345, 4);
    await appendFile(segmentPath, Buffer.concat([header, Buffer.alloc(10, 7)]));
    const reopened = await createEmbeddedLog({ dir });
    expect(await reopened.endOffset('rooms', 0)).toBe(2);
    expect((await stat(segmentPath)).size).toBe(size);
    await reopened.close();
  });

  it('keeps per-key order for many concurrent callers, and their offsets match what is read', async () => {
    const dir = await freshDir();
    const log = await createEmbeddedLog({ dir });
    await log.ensureTopic('rooms', 4);
    const rooms = Array.from({ length: 8 }, (_, i) => `!concurrent${i}:example.org`);
    // Each room has one writer appending its sequence one call at a time, all rooms at once.
    const writers = rooms.map(async (key) => {
      const offsets: number[] = [];
      for (let n = 0; n < 25; n++) {
        const [position] = await log.append('rooms', [{ key, value: { key, n } }]);
        offsets.push(position.offset);
      }
      return offsets;
    });
    // And many unsynchronised single appends of a shared key, started in a known order.
    const burst = await Promise.all(Array.from({ length: 200 }, (_, n) => log.append('rooms', [{ key: '!burst:example.org', value: n }])));
    const results = await Promise.all(writers);
    for (const [i, key] of rooms.entries()) {
      const partition = await log.partitionFor('rooms', key);
      const entries = (await log.read('rooms', partition, 0, 10_000)).filter((entry) => entry.key === key);
      expect(entries.map((entry) => (entry.value as { n: number }).n)).toEqual(Array.from({ length: 25 }, (_, n) => n));
      expect(entries.map((entry) => entry.offset)).toEqual(results[i]);
    }
    const burstPartition = await log.partitionFor('rooms', '!burst:example.org');
    const burstEntries = (await log.read('rooms', burstPartition, 0, 10_000)).filter((entry) => entry.key === '!burst:example.org');
    expect(burstEntries.map((entry) => entry.value)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    expect(burst.map(([position]) => position.offset)).toEqual(burstEntries.map((entry) => entry.offset));
    await log.close();
  });

  it('stores the partition count on disk and keeps it when ensureTopic asks for another', async () => {
    const dir = await freshDir();
    const log = await createEmbeddedLog({ dir });
    await log.ensureTopic('rooms', 3);
    await log.ensureTopic('rooms', 8);
    expect(await log.partitionCount('rooms')).toBe(3);
    await log.close();
    expect(JSON.parse(await readFile(path.join(dir, 'rooms', 'topic.json'), 'utf8'))).toEqual({ partitions: 3 });
    const reopened = await createEmbeddedLog({ dir });
    expect(await reopened.partitionCount('rooms')).toBe(3);
    await reopened.close();
  });

  it('takes a batch of any size, and refuses whole an append holding a record over the 64 MiB frame limit', async () => {
    const dir = await freshDir();
    const log = await createEmbeddedLog({ dir });
    await log.ensureTopic('rooms', 4);
    const keys = ['!a:example.org', '!b:example.org', '!c:example.org', '!d:example.org'];
    // 4 MiB in one append and 40 concurrent ones: no batch limit to fail them together.
    const text = 'x'.repeat(64 << 10);
    const appended = await Promise.all([
      log.append('rooms', Array.from({ length: 64 }, (_, n) => ({ key: keys[n % 4]!, value: { n, text } }))),
      ...Array.from({ length: 40 }, (_, n) => log.append('rooms', [{ key: keys[0]!, value: { n, text } }])),
    ]);
    expect(appended.flat()).toHaveLength(104);
    const ends = await Promise.all([0, 1, 2, 3].map((partition) => log.endOffset('rooms', partition)));
    // A frame that long is read back as a torn write and cut off with everything after it: refused
    // before any partition is written.
    await expect(log.append('rooms', [
      { key: keys[0]!, value: 'small' },
      { key: keys[1]!, value: 'y'.repeat(64 << 20) },
    ])).rejects.toThrow(/record exceeds the 67108864-byte record limit/);
    expect(await Promise.all([0, 1, 2, 3].map((partition) => log.endOffset('rooms', partition)))).toEqual(ends);
    await log.append('rooms', [{ key: keys[2]!, value: 'after' }]);
    await log.close();
    const reopened = await createEmbeddedLog({ dir });
    const partition = await reopened.partitionFor('rooms', keys[2]!);
    const last = await reopened.read('rooms', partition, ends[partition]!, 10);
    expect(last.map(({ value }) => value)).toEqual(['after']);
    await reopened.close();
  });

  it('refuses unknown topics unless an implicit partition count is configured', async () => {
    const dir = await freshDir();
    const strict = await createEmbeddedLog({ dir });
    await expect(strict.append('missing', [{ key: 'k', value: 1 }])).rejects.toThrow('unknown topic missing');
    await expect(strict.ensureTopic('../escape', 1)).rejects.toThrow('invalid topic name');
    await strict.close();
    const lenient = await createEmbeddedLog({ dir, partitions: 5 });
    expect(await lenient.append('auto', [{ key: 'k', value: 1 }])).toEqual([{ partition: await lenient.partitionFor('auto', 'k'), offset: 0 }]);
    expect(await lenient.partitionCount('auto')).toBe(5);
    await lenient.close();
  });

  it('lets one instance at a time own a directory, and takes over a stale lock', async () => {
    const dir = await freshDir();
    const log = await createEmbeddedLog({ dir });
    await expect(createEmbeddedLog({ dir })).rejects.toThrow('already open');
    await log.close();
    // A lock left by a process that has exited (pid far above any live one).
    await writeFile(path.join(dir, 'LOCK'), '2147483646\n');
    const next = await createEmbeddedLog({ dir });
    await expect(next.append('rooms', [{ key: 'k', value: 1 }])).rejects.toThrow('unknown topic');
    await next.close();
    await expect(next.endOffset('rooms', 0)).rejects.toThrow('closed');
  });

  it('wakes a caught-up consumer on append without polling', async () => {
    const dir = await freshDir();
    const log = await createEmbeddedLog({ dir });
    await log.ensureTopic('rooms', 1);
    const seen: number[] = [];
    const subscription = await log.subscribe({ group: 'live', topic: 'rooms' }, {
      onAssigned: async () => new Map([[0, 0]]),
      onRevoked: async () => undefined,
      onBatch: async (batch) => {
        seen.push(...batch.entries.map((entry) => entry.value as number));
      },
    });
    const started = Date.now();
    await log.append('rooms', [{ key: 'k', value: 1 }]);
    while (seen.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(Date.now() - started).toBeLessThan(1000);
    await subscription.stop();
    await subscription.done;
    await log.close();
    expect(seen).toEqual([1]);
  });

  it('lets records gather for a consumer that may take them late, in one batch', async () => {
    const dir = await freshDir();
    const log = await createEmbeddedLog({ dir });
    await log.ensureTopic('rooms', 1);
    const batches: number[][] = [];
    const subscription = await log.subscribe({ group: 'late', topic: 'rooms', latency: 'background' }, {
      onAssigned: async () => new Map([[0, 0]]),
      onRevoked: async () => undefined,
      onBatch: async (batch) => {
        batches.push(batch.entries.map((entry) => entry.value as number));
      },
    });
    // Three appends, each acknowledged before the next: well inside the half second it may wait.
    for (const value of [1, 2, 3]) await log.append('rooms', [{ key: 'k', value }]);
    while (batches.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await subscription.stop();
    await subscription.done;
    await log.close();
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('serves the newest acknowledged records from memory and older ones from the file, alike', async () => {
    const dir = await freshDir();
    const log = await createEmbeddedLog({ dir });
    await log.ensureTopic('rooms', 1);
    // More than the in-memory tail holds (1,024 records), in batches as group commit makes them.
    for (let batch = 0; batch < 15; batch++) {
      await log.append('rooms', Array.from({ length: 100 }, (_, i) => ({ key: 'a', value: { n: batch * 100 + i }, headers: { h: 'x' } })));
    }
    const values = async (from: number, max: number) => (await log.read('rooms', 0, from, max)).map((entry) => (entry.value as { n: number }).n);
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    // Reads that start in the file and run into the tail, and reads inside the tail, give the same entries.
    expect(await values(0, 1500)).toEqual(range(0, 1500));
    expect(await values(470, 60)).toEqual(range(470, 530));
    expect(await values(1490, 20)).toEqual(range(1490, 1500));
    const [entry] = await log.read('rooms', 0, 1499, 1);
    expect(entry).toMatchObject({ topic: 'rooms', partition: 0, offset: 1499, key: 'a', headers: { h: 'x' }, value: { n: 1499 } });
    expect(typeof entry?.timestamp).toBe('number');
    // With the file emptied behind the log's back, the newest records still read (from memory) and
    // the oldest no longer do (from the file): each range is served where this says.
    await truncate(path.join(dir, 'rooms', '0.log'), 0);
    expect(await values(1400, 100)).toEqual(range(1400, 1500));
    await expect(log.read('rooms', 0, 0, 10)).rejects.toThrow(/shorter than its index/);
    await log.close();
  });
});
