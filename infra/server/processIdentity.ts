/**
 * Who holds a lock or lease, precisely enough for a successor to tell a crashed holder from a live
 * one. A pid alone is not enough: after `kill -9` the restarted process may get the same pid (pid 1
 * in a container), and a pid can be reused by an unrelated process. On Linux the kernel's boot id,
 * the pid namespace and the process start time (in clock ticks since boot) pin one process
 * incarnation; elsewhere only "same host, pid not running" counts as proof of death.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export interface HolderProcess {
  readonly host: string;
  readonly pid: number;
  /** Linux only: /proc/sys/kernel/random/boot_id. */
  readonly bootId?: string;
  /** Linux only: the pid namespace, e.g. `pid:[4026531836]`. */
  readonly pidNamespace?: string;
  /** Linux only: field 22 of /proc/<pid>/stat. */
  readonly startTicks?: string;
}

const readOrUndefined = (read: () => string): string | undefined => {
  try {
    return read().trim();
  } catch {
    return undefined;
  }
};

/**
 * Field 22 (starttime) of /proc/<pid>/stat, or undefined when no such process runs. A zombie (a
 * killed process its parent has not reaped yet) runs no more. The command name before the fields
 * may hold spaces and parentheses.
 */
const startTicksOf = (pid: number | 'self'): string | undefined => {
  const stat = readOrUndefined(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the name start at field 3 (state), so starttime (22) is index 19.
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
};

export const currentProcess = (): HolderProcess => {
  const bootId = readOrUndefined(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  const pidNamespace = readOrUndefined(() => readlinkSync('/proc/self/ns/pid'));
  const startTicks = startTicksOf('self');
  return {
    host: hostname(),
    pid: process.pid,
    ...(bootId === undefined ? {} : { bootId }),
    ...(pidNamespace === undefined ? {} : { pidNamespace }),
    ...(startTicks === undefined ? {} : { startTicks }),
  };
};

const running = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * True only when `holder` is certainly not running any more: it ran on this machine, in this pid
 * namespace, since this boot, and its process is gone (or the pid now belongs to a process that
 * started at another time). Anything this process cannot check (another host, another container)
 * is false: the holder may be alive.
 */
export const provablyGone = (holder: HolderProcess, self: HolderProcess = currentProcess()): boolean => {
  if (holder.host !== self.host) return false;
  if (self.bootId !== undefined || holder.bootId !== undefined) {
    if (holder.bootId === undefined || holder.bootId !== self.bootId) return false;
    if (holder.pidNamespace === undefined || holder.pidNamespace !== self.pidNamespace) return false;
    if (holder.startTicks === undefined) return false;
    const now = holder.pid === self.pid ? self.startTicks : startTicksOf(holder.pid);
    return now !== holder.startTicks;
  }
  return holder.pid !== self.pid && !running(holder.pid);
};

export const describeHolder = (holder: HolderProcess): string => `pid ${holder.pid} on ${holder.host}`;
