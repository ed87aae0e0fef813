/**
 * The embedded log's files: `<dir>/LOCK` (the owning process), and per topic a folder
 * `<dir>/<topic>/` holding `topic.json` (`{ "partitions": n }`, fixed at creation) and one segment
 * file `<partition>.log` per partition.
 */
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { Segment, type SegmentRecovery } from './segment.ts';

/** Kafka's topic name rule, which also keeps names safe as folder names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export const checkTopicName = (topic: string): void => {
  if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..') throw new Error(`invalid topic name ${JSON.stringify(topic)}`);
};

export interface OpenTopic {
  readonly name: string;
  readonly segments: readonly Segment[];
}

const syncDir = async (dir: string): Promise<void> => {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/** Reads a topic's partition count, or undefined if the topic does not exist. */
export const readTopicPartitions = async (dir: string, topic: string): Promise<number | undefined> => {
  let text: string;
  try {
    text = await readFile(path.join(dir, topic, 'topic.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const partitions = (JSON.parse(text) as { partitions?: unknown }).partitions;
  if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`${path.join(dir, topic, 'topic.json')}: invalid partition count`);
  }
  return partitions;
};

/** Creates a topic's folder and metadata durably (write to a temporary file, sync, rename). */
export const createTopicFiles = async (dir: string, topic: string, partitions: number): Promise<void> => {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`invalid partition count ${partitions}`);
  const folder = path.join(dir, topic);
  await mkdir(folder, { recursive: true });
  const temporary = path.join(folder, 'topic.json.tmp');
  await writeFile(temporary, `${JSON.stringify({ partitions })}\n`, { flush: true });
  await rename(temporary, path.join(folder, 'topic.json'));
  await syncDir(folder);
  await syncDir(dir);
};

/** Opens every partition's segment; closes what was opened if one fails. */
export const openTopicFiles = async (
  dir: string,
  topic: string,
  partitions: number,
  onRecovery: (recovery: SegmentRecovery) => void,
): Promise<OpenTopic> => {
  const folder = path.join(dir, topic);
  const opened = await Promise.allSettled(
    Array.from({ length: partitions }, (_, partition) => Segment.open(path.join(folder, `${partition}.log`))),
  );
  const failed = opened.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(opened.map((result) => (result.status === 'fulfilled' ? result.value.segment.close() : undefined)));
    throw failed.reason;
  }
  const segments = opened.map((result) => (result as PromiseFulfilledResult<Awaited<ReturnType<typeof Segment.open>>>).value);
  for (const { recovery } of segments) if (recovery !== undefined) onRecovery(recovery);
  // New segment files must survive a crash too.
  await syncDir(folder);
  return { name: topic, segments: segments.map(({ segment }) => segment) };
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Directories this process has open; a LOCK naming our own pid but not listed here is stale. */
const openHere = new Set<string>();

/**
 * Takes `<dir>/LOCK` so two log instances never write the same files. A lock left by a process
 * that no longer runs (or by an earlier process that had our pid, as PID 1 in a container) is
 * taken over; one held by a live process or by another instance in this process is refused.
 */
export const acquireLock = async (dir: string): Promise<() => Promise<void>> => {
  const absolute = path.resolve(dir);
  if (openHere.has(absolute)) throw new Error(`embedded log ${dir} is already open in this process`);
  await mkdir(absolute, { recursive: true });
  const lockPath = path.join(absolute, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx', flush: true });
      openHere.add(absolute);
      return async () => {
        openHere.delete(absolute);
        await rm(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new Error(`embedded log ${dir} is already open by process ${holder}`);
      }
      await rm(lockPath, { force: true });
    }
  }
  throw new Error(`embedded log ${dir}: could not take ${lockPath}`);
};
