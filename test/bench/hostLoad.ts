/**
 * How loaded the machine was while a benchmark step ran, from Linux's /proc: the share of all
 * cores' time in use (every process: the server, its services, the load generator, anything else)
 * and the share of wall time some runnable task waited for a core (pressure stall information).
 * On a shared host the second one moves with the neighbours, and figures taken while it was high
 * are not comparable with a quiet run's: the report prints both beside the latencies.
 */
import { readFileSync } from 'node:fs';

export interface HostSample {
  /** performance.now() when read. */
  readonly atMs: number;
  /** Clock ticks of all cores, in use and in total, since boot (/proc/stat). */
  readonly busyTicks: number;
  readonly totalTicks: number;
  /** Microseconds some task waited for a core, since boot (/proc/pressure/cpu); absent without PSI. */
  readonly cpuWaitUs?: number;
}

export interface HostLoad {
  /** Of all cores' time between the samples, the share in use. */
  readonly busyPercent: number;
  /** Of the wall time between the samples, the share in which some task waited for a core. */
  readonly cpuWaitPercent?: number;
}

type ReadText = (path: string) => string;
const readText: ReadText = (path) => readFileSync(path, 'utf8');

/** The host's counters now, or undefined where /proc/stat cannot be read (not Linux). */
export const sampleHost = (read: ReadText = readText, now: () => number = () => performance.now()): HostSample | undefined => {
  let stat: string;
  try {
    stat = read('/proc/stat');
  } catch {
    return undefined;
  }
  // cpu user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const fields = stat.split('\n', 1)[0]!.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 9) return undefined;
  const ticks = fields.slice(1, 9).map(Number);
  if (ticks.some((tick) => !Number.isFinite(tick))) return undefined;
  const total = ticks.reduce((sum, tick) => sum + tick, 0);
  const idle = ticks[3]! + ticks[4]!;
  let cpuWaitUs: number | undefined;
  try {
    const some = /^some .*\btotal=(\d+)/m.exec(read('/proc/pressure/cpu'));
    if (some !== null) cpuWaitUs = Number(some[1]);
  } catch {
    // A kernel without pressure stall information: busy time only.
  }
  return { atMs: now(), busyTicks: total - idle, totalTicks: total, ...(cpuWaitUs === undefined ? {} : { cpuWaitUs }) };
};

export const hostLoadBetween = (before: HostSample | undefined, after: HostSample | undefined): HostLoad | undefined => {
  if (before === undefined || after === undefined || after.totalTicks <= before.totalTicks) return undefined;
  const busyPercent = (100 * (after.busyTicks - before.busyTicks)) / (after.totalTicks - before.totalTicks);
  const wallUs = (after.atMs - before.atMs) * 1000;
  const cpuWaitPercent = before.cpuWaitUs !== undefined && after.cpuWaitUs !== undefined && wallUs > 0
    ? Math.min(100, (100 * (after.cpuWaitUs - before.cpuWaitUs)) / wallUs)
    : undefined;
  return { busyPercent, ...(cpuWaitPercent === undefined ? {} : { cpuWaitPercent }) };
};

export const formatHostLoad = (load: HostLoad | undefined): string => {
  if (load === undefined) return 'not measured (no /proc/stat)';
  const busy = `${Math.round(load.busyPercent)} % busy`;
  return load.cpuWaitPercent === undefined ? busy : `${busy}, a task waited for a core ${Math.round(load.cpuWaitPercent)} % of the time`;
};
