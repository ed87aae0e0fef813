/**
 * One process per data directory. The embedded log and PGlite keep their state in memory beside
 * their files, so a second process on the same directory would corrupt both. The lock is a file
 * created exclusively (O_EXCL) and naming its holder; a clean stop removes it. After `kill -9` the
 * file stays, and the next start takes it over once the holder is provably gone
 * (processIdentity.ts), so a restart is never blocked by its own crash.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { currentProcess, describeHolder, provablyGone, type HolderProcess } from './processIdentity.ts';
import { InUseError } from './startupError.ts';

export const DATA_DIR_LOCK_FILE = 'strata.lock';

interface LockContent extends HolderProcess {
  /** Tells this holding apart from an earlier one of the same process. */
  readonly holding: string;
  readonly since: string;
}

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock file if it still names this holding. */
  release(): Promise<void>;
}

const isCode = (error: unknown, code: string): boolean => (error as NodeJS.ErrnoException | undefined)?.code === code;

const readLock = async (file: string): Promise<LockContent | undefined> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockContent>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.holding === 'string') return parsed as LockContent;
  } catch {
    // An empty or torn file: its writer died between creating and writing it (see below).
  }
  return { host: '', pid: 0, holding: '', since: '' };
};

const refusal = (dir: string, file: string, holder: LockContent): InUseError => new InUseError(
  `the data directory ${dir} is in use by another Strata process (${describeHolder(holder)}, since ${holder.since}); `
    + `only one process may use a data directory — if that process is gone, delete ${file}`,
);

/**
 * Takes the lock of `dir` or throws a StartupError naming the process that holds it. A lock file
 * left by a crashed process is taken over; a torn (empty) one too, since its writer crashed.
 */
export const lockDataDir = async (dir: string): Promise<DataDirLock> => {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, DATA_DIR_LOCK_FILE);
  const self = currentProcess();
  const content: LockContent = { ...self, holding: randomBytes(8).toString('hex'), since: new Date().toISOString() };
  // Written beside the lock and linked into place, so the lock file never exists half-written.
  const draft = `${file}.${content.holding}`;
  await writeFile(draft, `${JSON.stringify(content)}\n`);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(draft, file);
        return {
          file,
          release: async () => {
            const current = await readLock(file);
            if (current?.holding === content.holding) await unlink(file).catch(() => undefined);
          },
        };
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw error;
      }
      const holder = await readLock(file);
      if (holder === undefined) continue;
      const torn = holder.holding === '';
      if (!torn && !provablyGone(holder, self)) throw refusal(dir, file, holder);
      // Move the stale file aside under a name of our own, then check that what moved is the file
      // judged stale: another starter may have replaced it meanwhile, and its lock goes back.
      const aside = `${file}.stale.${content.holding}`;
      try {
        await rename(file, aside);
      } catch (error) {
        if (isCode(error, 'ENOENT')) continue;
        throw error;
      }
      const moved = await readLock(aside);
      if (moved !== undefined && moved.holding !== holder.holding) {
        await link(aside, file).catch(() => undefined);
        await unlink(aside).catch(() => undefined);
        throw refusal(dir, file, moved);
      }
      await unlink(aside).catch(() => undefined);
    }
    throw new InUseError(`cannot lock the data directory ${dir}: ${file} keeps changing; is another Strata process starting?`);
  } finally {
    await unlink(draft).catch(() => undefined);
  }
};
