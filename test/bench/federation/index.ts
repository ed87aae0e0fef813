/**
 * `npm run bench federation [-- options]`: room messages carried between two homeservers. The
 * sending server's users PUT messages at an open-loop rate into their room; users of the receiving
 * server, joined over federation, long-poll a filtered /sync. Per sender → receiver pair (Strata and
 * Synapse both ways, Synapse → Synapse as the baseline) it prints the PDUs per second the receiver
 * accepted, losses, and send → remote /sync latency, side by side. See docs/benchmarks.md.
 */
import { availableParallelism, totalmem } from 'node:os';
import { newRunId } from '../cs/population.ts';
import { benchOptions, loadAverage, startWatchdog } from '../runner.ts';
import { PAIRS, pairKinds, parseFederationBenchArgs, usage, type FederationBenchOptions, type PairName } from './options.ts';
import { errorLines, printPairs, type PairResult } from './report.ts';
import { runPair, type RunResult } from './scenario.ts';
import { readVersion, startStrataProcess, startSynapse, SYNAPSE_PEERS, type Homeserver } from './servers.ts';

const say = (line: string) => void process.stderr.write(`${line}\n`);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

const TITLES: Record<PairName, string> = {
  'strata-strata': 'Strata → Strata',
  'strata-synapse': 'Strata → Synapse',
  'synapse-strata': 'Synapse → Strata',
  'synapse-synapse': 'Synapse → Synapse',
};

/** The servers started, by kind, first instance first; a failed start leaves a reason instead. */
interface Fleet {
  readonly strata: (Homeserver | string)[];
  readonly synapse: (Homeserver | string)[];
}

const startFleet = async (options: FederationBenchOptions, fleet: Fleet): Promise<void> => {
  const needs = (kind: 'strata' | 'synapse') =>
    options.pairs.includes(`${kind}-${kind}`) ? 2 : options.pairs.some((p) => pairKinds(p).includes(kind)) ? 1 : 0;
  for (let i = 0; i < needs('strata'); i += 1) {
    const label = i === 0 ? 'Strata' : `Strata ${i + 1}`;
    fleet.strata.push(await startStrataProcess(label, options.strataMode, say).catch((error: unknown) => `${label} did not start: ${message(error)}`));
  }
  for (let i = 0; i < needs('synapse'); i += 1) {
    const spec = SYNAPSE_PEERS[i];
    if (spec === undefined) break;
    fleet.synapse.push(await startSynapse(spec, options.keepSynapse, say).catch((error: unknown) => `${spec.label} did not start: ${message(error)}`));
  }
};

/** Sender and receiver of a pair: the first instance sends, the second receives when both are one kind. */
const serversOf = (pair: PairName, fleet: Fleet): [Homeserver, Homeserver] | string => {
  const [from, to] = pairKinds(pair);
  const sender = fleet[from][0];
  const receiver = fleet[to][from === to ? 1 : 0];
  for (const server of [sender, receiver]) {
    if (server === undefined) return 'its server was not started';
    if (typeof server === 'string') return server;
  }
  return [sender as Homeserver, receiver as Homeserver];
};

export const run = async (args: string[]): Promise<void> => {
  const options = benchOptions('federation', usage, () => parseFederationBenchArgs(args));
  if (options === undefined) return;
  const watchdog = startWatchdog('federation', options.maxRuntimeSeconds);
  const loadBefore = loadAverage();
  const fleet: Fleet = { strata: [], synapse: [] };
  const runs = new Map<PairName, RunResult[]>(options.pairs.map((p) => [p, []]));
  const notRun = new Map<PairName, string>();
  try {
    await startFleet(options, fleet);
    const http = { baseUrl: '', timeoutMs: 5000, signal: watchdog.signal };
    for (const server of [...fleet.strata, ...fleet.synapse]) {
      if (typeof server === 'string') say(`error: ${server}`);
      else await readVersion(server, http);
    }
    const runId = newRunId();
    say(`bench federation: run ${runId}; pairs ${options.pairs.join(', ')}; ${options.rate}/s for ${options.durationSeconds} s × ${options.runs} runs; ` +
      `${options.senders} senders, ${options.listeners} remote listeners`);
    for (let r = 1; r <= options.runs; r += 1) {
      for (const pair of options.pairs) {
        if (watchdog.signal.aborted) break;
        const servers = serversOf(pair, fleet);
        if (typeof servers === 'string') {
          notRun.set(pair, servers);
          continue;
        }
        const prefix = `[${TITLES[pair]} run ${r}/${options.runs}]`;
        const result = await runPair(servers[0], servers[1], options, r, `${runId}${PAIRS.indexOf(pair)}`, watchdog.signal, (line) => say(`${prefix} ${line}`));
        if (result.error !== undefined) say(`${prefix} error: ${result.error}`);
        else say(`${prefix} done: accepted ${result.figures?.accepted ?? 0} / ${result.figures?.sendOk ?? 0}, p99 ${Math.round(result.figures?.latency.p99 ?? Number.NaN)} ms`);
        runs.get(pair)?.push(result);
      }
    }
  } finally {
    watchdog.stop();
    for (const server of [...fleet.strata, ...fleet.synapse].reverse()) {
      if (typeof server !== 'string') await server.stop().catch((error: unknown) => say(`error: stopping ${server.label}: ${message(error)}`));
    }
  }

  const pairs: PairResult[] = options.pairs.map((pair) => ({
    pair, title: TITLES[pair], rate: options.rate, runs: runs.get(pair) ?? [],
    ...(notRun.has(pair) ? { notRun: notRun.get(pair) as string } : {}),
  }));
  printPairs(
    `Federation: ${options.senders} senders on the sending server → ${options.listeners} listeners on the receiving server (filtered /sync), ` +
      `one room per run, ${options.rate}/s for ${options.durationSeconds} s, ${options.runs} run${options.runs === 1 ? '' : 's'} per pair`,
    pairs, options.runs,
  );
  process.stdout.write(`\nmachine: ${availableParallelism()} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; load average before ${loadBefore}, after ${loadAverage()}\n`);
  for (const server of [...fleet.strata, ...fleet.synapse]) {
    if (typeof server !== 'string') process.stdout.write(`${server.label}: ${server.serverName}, ${server.version}, ${server.database}\n`);
  }
  for (const p of pairs) if (p.notRun !== undefined) process.stdout.write(`${p.title}: not run: ${p.notRun}\n`);
  const errors = errorLines(pairs, options.drainSeconds);
  for (const line of errors) process.stdout.write(`${line}\n`);
  const bad = pairs.some((p) => p.notRun !== undefined || p.runs.some((r) => r.error !== undefined || (r.figures !== undefined && r.figures.incomplete > 0)));
  if (bad) process.exitCode = 1;
};
