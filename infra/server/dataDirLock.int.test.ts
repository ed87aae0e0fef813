import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_DIR_LOCK_FILE, lockDataDir } from './dataDirLock.ts';
import { currentProcess, provablyGone } from './processIdentity.ts';
import { InUseError } from './startupError.ts';

const dirs: string[] = [];
const newDir = async (): Promise<string> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-lock-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The pid of a process that has exited (and been reaped). */
const exitedPid = (): number => {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
};

describe('provablyGone', () => {
  it('knows this very process is alive, and a process that exited is gone', () => {
    const self = currentProcess();
    expect(provablyGone(self)).toBe(false);
    expect(provablyGone({ ...self, pid: exitedPid() })).toBe(true);
  });

  // Needs /proc (Linux): elsewhere a pid is all there is to compare.
  it.runIf(currentProcess().startTicks !== undefined)('counts an earlier process with the same pid as gone (a restarted container)', () => {
    expect(provablyGone({ ...currentProcess(), startTicks: '1' })).toBe(true);
  });

  it.runIf(currentProcess().startTicks !== undefined)('counts a killed process its parent has not reaped yet (a zombie) as gone', async () => {
    // The shell starts `sleep 0` in the background and becomes `sleep 30`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [chunk] = (await once(parent.stdout, 'data')) as [Buffer];
      const pid = Number(chunk.toString().trim());
      const stat = (): string[] => {
        const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return text.slice(text.lastIndexOf(')') + 2).split(' ');
      };
      const deadline = Date.now() + 5_000;
      while (stat()[0] !== 'Z') {
        if (Date.now() > deadline) throw new Error('the child did not become a zombie');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(provablyGone({ ...currentProcess(), pid, startTicks: stat()[19] })).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('cannot judge a process on another host or in another pid namespace', () => {
    const self = currentProcess();
    expect(provablyGone({ ...self, pid: exitedPid(), host: 'elsewhere.example' })).toBe(false);
    if (self.pidNamespace !== undefined) expect(provablyGone({ ...self, pid: exitedPid(), pidNamespace: 'pid:[1]' })).toBe(false);
  });
});

describe('lockDataDir', () => {
  it('refuses a second holder with one line naming the first, and can be taken again once released', async () => {
    const dir = await newDir();
    const lock = await lockDataDir(dir);
    const file = path.join(dir, DATA_DIR_LOCK_FILE);
    const { since, host } = JSON.parse(await readFile(file, 'utf8')) as { since: string; host: string };
    await expect(lockDataDir(dir)).rejects.toThrow(new InUseError(
      `the data directory ${dir} is in use by another Strata process (pid ${process.pid} on ${host}, since ${since}); `
        + `only one process may use a data directory — if that process is gone, delete ${file}`,
    ));
    await lock.release();
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });
    const again = await lockDataDir(dir);
    await again.release();
    // No drafts or moved-aside files are left behind.
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over a lock left by a process that is gone, or a torn lock file', async () => {
    const dir = await newDir();
    const file = path.join(dir, DATA_DIR_LOCK_FILE);
    await writeFile(file, JSON.stringify({ ...currentProcess(), pid: exitedPid(), holding: 'crashed', since: '2026-01-01T00:00:00.000Z' }));
    const lock = await lockDataDir(dir);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();

    await writeFile(file, '');
    const afterTorn = await lockDataDir(dir);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ pid: process.pid });
    await afterTorn.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('does not remove a lock it no longer holds', async () => {
    const dir = await newDir();
    const file = path.join(dir, DATA_DIR_LOCK_FILE);
    const lock = await lockDataDir(dir);
    await writeFile(file, JSON.stringify({ host: 'elsewhere.example', pid: 1, holding: 'other', since: 'then' }));
    await lock.release();
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ holding: 'other' });
  });
});
