/**
 * How loaded the machine was while a benchmark step ran, from Linux's /proc: the share of all
 * cores' time in use (every process: the server, its services, the load generator, anything else)
 * and the share of wall time some runnable task waited for a core (pressure stall information).
 * On a shared host the second one moves with the neighbours, and figures taken while it was high
 * are not comparable with a quiet run's: the report prints both beside the latencies. Where the
 * busy time went is told per known process (the server under test, its databases and log, the
 * load generator itself), so a step's cost is seen whole, not only the server's.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface HostSample {
  /** performance.now() when read. */
  readonly atMs: number;
  /** Clock ticks of all cores, in use and in total, since boot (/proc/stat). */
  readonly busyTicks: number;
  readonly totalTicks: number;
  /** Microseconds some task waited for a core, since boot (/proc/pressure/cpu); absent without PSI. */
  readonly cpuWaitUs?: number;
  /** CPU ticks (user + system, since each started) of the processes a benchmark knows, by pid. */
  readonly processes?: ReadonlyMap<number, ProcessTicks>;
}

export interface ProcessTicks {
  /** What the process is, e.g. `Strata`, `PostgreSQL` (processOf). */
  readonly name: string;
  readonly ticks: number;
}

export interface HostLoad {
  /** Of all cores' time between the samples, the share in use. */
  readonly busyPercent: number;
  /** Of the wall time between the samples, the share in which some task waited for a core. */
  readonly cpuWaitPercent?: number;
  /** CPU per known process name, as % of one core over the wall time (highest first). */
  readonly processes?: readonly { readonly name: string; readonly percentOfCore: number }[];
}

type ReadText = (path: string) => string;
const readText: ReadText = (path) => readFileSync(path, 'utf8');
const listPids = (): number[] => readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number);

/** Linux reports /proc/[pid]/stat times in USER_HZ, which is 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/**
 * The name a benchmark reports a process under, from its command name and line; undefined for
 * processes it does not know (they count in the host's busy share only). `self` is the load generator.
 */
export const processOf = (pid: number, comm: string, cmdline: string, self: number): string | undefined => {
  if (pid === self) return 'load generator';
  if (cmdline.includes('kafka.Kafka')) return 'Kafka';
  if (comm.startsWith('clickhouse')) return 'ClickHouse';
  if (comm === 'postgres' || cmdline.startsWith('postgres')) return 'PostgreSQL';
  if (cmdline.includes('infra/main.ts')) return 'Strata';
  if (cmdline.includes('synapse')) return 'Synapse';
  return undefined;
};

/** user + system ticks from /proc/[pid]/stat (the command name in parentheses may hold spaces). */
const ticksOf = (stat: string): number | undefined => {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks : undefined;
};

const sampleProcesses = (read: ReadText, pids: () => readonly number[], self: number): Map<number, ProcessTicks> => {
  const processes = new Map<number, ProcessTicks>();
  for (const pid of pids()) {
    try {
      const name = processOf(pid, read(`/proc/${pid}/comm`).trim(), read(`/proc/${pid}/cmdline`).replaceAll('\0', ' '), self);
      if (name === undefined) continue;
      const ticks = ticksOf(read(`/proc/${pid}/stat`));
      if (ticks !== undefined) processes.set(pid, { name, ticks });
    } catch {
      // Gone between listing and reading.
    }
  }
  return processes;
};

/** The host's counters now, or undefined where /proc/stat cannot be read (not Linux). */
export const sampleHost = (
  read: ReadText = readText, now: () => number = () => performance.now(), pids: () => readonly number[] = listPids, self = process.pid,
): HostSample | undefined => {
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
  let processes: Map<number, ProcessTicks> | undefined;
  try {
    processes = sampleProcesses(read, pids, self);
  } catch {
    // No process list: the host's shares only.
  }
  return {
    atMs: now(), busyTicks: total - idle, totalTicks: total,
    ...(cpuWaitUs === undefined ? {} : { cpuWaitUs }), ...(processes === undefined ? {} : { processes }),
  };
};

/**
 * Each known name's CPU between the samples. A process started meanwhile counts from its start;
 * one that ended meanwhile is missed (a benchmark's servers and services outlive its steps).
 */
const processLoadBetween = (before: HostSample, after: HostSample): HostLoad['processes'] => {
  if (before.processes === undefined || after.processes === undefined || after.atMs <= before.atMs) return undefined;
  const ticks = new Map<string, number>();
  for (const [pid, now] of after.processes) {
    const then = before.processes.get(pid);
    const used = then === undefined || then.name !== now.name ? now.ticks : now.ticks - then.ticks;
    ticks.set(now.name, (ticks.get(now.name) ?? 0) + Math.max(0, used));
  }
  const seconds = (after.atMs - before.atMs) / 1000;
  return [...ticks].map(([name, used]) => ({ name, percentOfCore: (100 * used) / TICKS_PER_SECOND / seconds }))
    .sort((a, b) => b.percentOfCore - a.percentOfCore);
};

export const hostLoadBetween = (before: HostSample | undefined, after: HostSample | undefined): HostLoad | undefined => {
  if (before === undefined || after === undefined || after.totalTicks <= before.totalTicks) return undefined;
  const busyPercent = (100 * (after.busyTicks - before.busyTicks)) / (after.totalTicks - before.totalTicks);
  const wallUs = (after.atMs - before.atMs) * 1000;
  const cpuWaitPercent = before.cpuWaitUs !== undefined && after.cpuWaitUs !== undefined && wallUs > 0
    ? Math.min(100, (100 * (after.cpuWaitUs - before.cpuWaitUs)) / wallUs)
    : undefined;
  const processes = processLoadBetween(before, after);
  return { busyPercent, ...(cpuWaitPercent === undefined ? {} : { cpuWaitPercent }), ...(processes === undefined ? {} : { processes }) };
};

export const formatHostLoad = (load: HostLoad | undefined): string => {
  if (load === undefined) return 'not measured (no /proc/stat)';
  const busy = `${Math.round(load.busyPercent)} % busy`;
  return load.cpuWaitPercent === undefined ? busy : `${busy}, a task waited for a core ${Math.round(load.cpuWaitPercent)} % of the time`;
};

/** `Strata 85 %, load generator 28 %, …` (% of one core); processes under 1 % are left out. */
export const formatProcessLoad = (load: HostLoad | undefined): string => {
  if (load?.processes === undefined) return 'not measured (no /proc)';
  const shown = load.processes.filter((process) => process.percentOfCore >= 1);
  return shown.length === 0 ? 'none of the known processes used 1 % of a core'
    : shown.map((process) => `${process.name} ${Math.round(process.percentOfCore)} %`).join(', ');
};
