import { describe, expect, it } from 'vitest';
import { formatHostLoad, formatProcessLoad, hostLoadBetween, processOf, sampleHost } from './hostLoad.ts';

const proc = (stat: string, pressure?: string) => (path: string): string => {
  if (path === '/proc/stat') return stat;
  if (path === '/proc/pressure/cpu' && pressure !== undefined) return pressure;
  throw new Error(`ENOENT: ${path}`);
};

describe('host load', () => {
  it('reads busy and total ticks of all cores, and how long tasks waited for one', () => {
    const sample = sampleHost(proc(
      'cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n',
      'some avg10=1.00 avg60=2.00 avg300=3.00 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
    ), () => 10);
    // Idle and iowait are not busy; guest time is inside user already.
    expect(sample).toEqual({ atMs: 10, busyTicks: 160, totalTicks: 1000, cpuWaitUs: 123456, processes: new Map() });
  });

  it('gives the shares of a step: cores busy, and wall time with a task waiting', () => {
    const before = { atMs: 0, busyTicks: 100, totalTicks: 1000, cpuWaitUs: 1_000_000 };
    const after = { atMs: 20_000, busyTicks: 3100, totalTicks: 5000, cpuWaitUs: 7_000_000 };
    const load = hostLoadBetween(before, after);
    expect(load).toEqual({ busyPercent: 75, cpuWaitPercent: 30 });
    expect(formatHostLoad(load)).toBe('75 % busy, a task waited for a core 30 % of the time');
  });

  it('says busy time only without pressure stall information, and nothing without /proc', () => {
    const sample = sampleHost(proc('cpu  100 0 0 900 0 0 0 0 0 0\n'), () => 0, () => { throw new Error('EACCES'); });
    expect(sample).toEqual({ atMs: 0, busyTicks: 100, totalTicks: 1000 });
    expect(formatHostLoad(hostLoadBetween(sample, { atMs: 1000, busyTicks: 600, totalTicks: 2000 }))).toBe('50 % busy');
    expect(sampleHost(proc('garbage'))).toBeUndefined();
    expect(sampleHost(() => { throw new Error('ENOENT'); })).toBeUndefined();
    expect(formatHostLoad(hostLoadBetween(undefined, sample))).toBe('not measured (no /proc/stat)');
  });

  it('tells the CPU of the processes it knows, in % of one core, over the step', () => {
    const files = new Map<string, string>();
    const put = (pid: number, comm: string, cmdline: string, utime: number, stime: number): void => {
      files.set(`/proc/${pid}/comm`, `${comm}\n`);
      files.set(`/proc/${pid}/cmdline`, `${cmdline.replaceAll(' ', '\0')}\0`);
      // Fields after the command name: state is the 3rd of stat, utime the 14th and stime the 15th.
      files.set(`/proc/${pid}/stat`, `${pid} (${comm}) S ${Array.from({ length: 10 }, () => '0').join(' ')} ${utime} ${stime} 0 0 20 0`);
    };
    let stat = 'cpu  100 0 0 900 0 0 0 0 0 0\n';
    const read = (path: string): string => {
      if (path === '/proc/stat') return stat;
      const text = files.get(path);
      if (text === undefined) throw new Error(`ENOENT: ${path}`);
      return text;
    };
    const pids = () => [...new Set([...files.keys()].map((path) => Number(path.split('/')[2])))];
    put(10, 'node', '/usr/bin/node infra/main.ts', 1000, 500);
    put(11, 'MainThread', 'node test/bench/main.ts cs', 100, 50);
    put(12, 'postgres', 'postgres: strata strata 127.0.0.1(5000) idle', 10, 10);
    put(13, 'java', 'java -Xmx512m kafka.Kafka server.properties', 300, 100);
    put(14, 'bash', 'bash -c sleep', 5, 5);
    const before = sampleHost(read, () => 0, pids, 11)!;
    expect([...before.processes!.values()].map((p) => p.name)).toEqual(['Strata', 'load generator', 'PostgreSQL', 'Kafka']);
    put(10, 'node', '/usr/bin/node infra/main.ts', 2500, 700);
    put(11, 'MainThread', 'node test/bench/main.ts cs', 400, 50);
    put(12, 'postgres', 'postgres: strata strata 127.0.0.1(5000) idle', 110, 10);
    // A backend started during the step counts from its start.
    put(15, 'postgres', 'postgres: strata strata 127.0.0.1(5001) idle', 80, 20);
    put(13, 'java', 'java -Xmx512m kafka.Kafka server.properties', 305, 100);
    stat = 'cpu  2100 0 0 4900 0 0 0 0 0 0\n';
    const load = hostLoadBetween(before, sampleHost(read, () => 20_000, pids, 11));
    expect(load?.processes).toEqual([
      { name: 'Strata', percentOfCore: 85 }, { name: 'load generator', percentOfCore: 15 },
      { name: 'PostgreSQL', percentOfCore: 10 }, { name: 'Kafka', percentOfCore: 0.25 },
    ]);
    expect(formatProcessLoad(load)).toBe('Strata 85 %, load generator 15 %, PostgreSQL 10 %');
    expect(formatProcessLoad({ busyPercent: 1 })).toBe('not measured (no /proc)');
  });

  it('names the server under test, its services and the load generator', () => {
    expect(processOf(7, 'node', 'node infra/main.ts', 7)).toBe('load generator');
    expect(processOf(8, 'clickhouse-serv', '/usr/bin/clickhouse-server --config-file=x', 7)).toBe('ClickHouse');
    expect(processOf(9, 'python', '/venv/bin/python -m synapse.app.homeserver -c h.yaml', 7)).toBe('Synapse');
    expect(processOf(10, 'sshd', '/usr/sbin/sshd', 7)).toBeUndefined();
  });
});
