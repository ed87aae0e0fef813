/**
 * `npm run bench appservice [-- options]`: room messages of local users delivered to a bridge. Strata
 * (a child process, every projection running) and the Synapse of infra/services/synapse.sh, each
 * with the test bridge (test/harness/testBridge.ts) registered and its puppet in several rooms; per
 * offered rate it prints the events per second delivered to the bridge and the send → bridge
 * latency, side by side, from one invocation. See docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { newRunId } from '../cs/population.ts';
import { formatMs } from '../cs/stats.ts';
import { request, type HttpOptions } from '../cs/matrixClient.ts';
import { printTable } from '../measure.ts';
import { startStrataProcess } from '../federation/servers.ts';
import { freePort } from '../../harness/ports.ts';
import { TestBridge, writeTestBridgeRegistration } from '../../harness/testBridge.ts';
import { ensureBridgeSynapse, stopBridgeSynapse, SYNAPSE_BRIDGE } from '../../interop/synapseBridge.ts';
import type { StepFigures } from './figures.ts';
import { parseAppserviceBenchArgs, usage, type AppserviceBenchOptions, type BridgeServer } from './options.ts';
import { populate, runStep, type BridgedServer } from './scenario.ts';
import { benchOptions, loadAverage, startWatchdog } from '../runner.ts';

const say = (line: string) => void process.stderr.write(`${line}\n`);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

const versionOf = async (http: HttpOptions, baseUrl: string): Promise<string> => {
  try {
    const server = (await request({ ...http, baseUrl }, 'GET', '/_matrix/federation/v1/version', { timeoutMs: 5000 })).server as
      { name?: unknown; version?: unknown } | undefined;
    // Synapse appends the git branch and commit of its working directory, which here is Strata's.
    return `${String(server?.name ?? '?')} ${String(server?.version ?? '?').replace(/ \(b=[^)]*\)$/, '')}`;
  } catch (error) {
    return `unknown version (${message(error)})`;
  }
};

const startStrata = async (options: AppserviceBenchOptions, http: HttpOptions): Promise<BridgedServer> => {
  // The registration names the bridge's url, so its port comes first.
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'strata-asbench-'));
  try {
    const registration = await writeTestBridgeRegistration(dir, `http://127.0.0.1:${port}`);
    const server = await startStrataProcess('Strata', options.strataMode, say, {
      rate_limits: { login: false, registration: false, messages: false },
      app_service_config_files: [registration],
    });
    const bridge = await TestBridge.start({ homeserverUrl: server.clientUrl, serverName: server.serverName, port });
    return {
      label: 'Strata', clientUrl: server.clientUrl, sharedSecret: server.sharedSecret, bridge,
      description: `${await versionOf(http, server.clientUrl)}, ${server.database}`,
      stop: async () => {
        await bridge.stop();
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
};

const startSynapse = async (http: HttpOptions): Promise<BridgedServer> => {
  const started = await ensureBridgeSynapse();
  const bridge = await TestBridge.start({ homeserverUrl: SYNAPSE_BRIDGE.url, serverName: SYNAPSE_BRIDGE.serverName, port: SYNAPSE_BRIDGE.bridgePort });
  // Synapse backs off from a bridge that was away (up to 8½ minutes) until it is pinged.
  const pinged = await bridge.ping(`bench-${Date.now()}`);
  if (pinged.status !== 200) say(`Synapse: the bridge's ping answered ${pinged.status} ${JSON.stringify(pinged.body)}`);
  return {
    label: 'Synapse', clientUrl: SYNAPSE_BRIDGE.url, sharedSecret: SYNAPSE_BRIDGE.sharedSecret, bridge,
    description: `${await versionOf(http, SYNAPSE_BRIDGE.url)}, PostgreSQL (database synapse on 127.0.0.1:15432), one process`,
    stop: async () => {
      await bridge.stop();
      if (started) stopBridgeSynapse();
    },
  };
};

/** Per server and rate, the figures of each run. */
type Results = Map<BridgeServer, Map<number, StepFigures[]>>;

const spread = (values: readonly number[], format: (n: number) => string): string => {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return '-';
  const [low, high] = [Math.min(...finite), Math.max(...finite)];
  return low === high ? format(low) : `${format(low)} – ${format(high)}`;
};
const latency = (f: StepFigures | undefined): string =>
  f === undefined ? '-' : `${formatMs(f.latency.p50)} / ${formatMs(f.latency.p90)} / ${formatMs(f.latency.p99)} / ${formatMs(f.latency.max)}`;
const byP99 = (runs: readonly StepFigures[]) =>
  [...runs].sort((a, b) => (Number.isNaN(a.latency.p99) ? Infinity : a.latency.p99) - (Number.isNaN(b.latency.p99) ? Infinity : b.latency.p99));
const total = (runs: readonly StepFigures[], of: (f: StepFigures) => number) => runs.reduce((n, f) => n + of(f), 0);

const report = (options: AppserviceBenchOptions, results: Results, labels: Map<BridgeServer, string>): void => {
  const servers = options.servers.filter((s) => results.has(s));
  for (const rate of options.rates) {
    const cells = (of: (runs: StepFigures[]) => string) => servers.map((s) => {
      const runs = results.get(s)?.get(rate) ?? [];
      return runs.length === 0 ? '-' : of(runs);
    });
    printTable(
      `${rate}/s offered for ${options.durationSeconds} s: ${options.senders} local senders, ${options.rooms} rooms with the bridge's puppet, ${options.runs} run${options.runs === 1 ? '' : 's'}`,
      ['', ...servers.map((s) => labels.get(s) ?? s)],
      [
        ['sent / delivered to the bridge', ...cells((r) => `${total(r, (f) => f.sent)} / ${total(r, (f) => f.delivered)}`)],
        ['skipped (in-flight cap) / send failures', ...cells((r) => `${total(r, (f) => f.skipped)} / ${total(r, (f) => f.failed)}`)],
        ['delivered events/s', ...cells((r) => spread(r.map((f) => f.eventsPerSecond), (n) => `${n.toFixed(1)}/s`))],
        ['send → bridge p50 / p90 / p99 / max, best run', ...cells((r) => latency(byP99(r)[0]))],
        ['same, worst run', ...cells((r) => latency(byP99(r)[r.length - 1]))],
        ['PUT /send p50', ...cells((r) => spread(r.map((f) => f.putP50), formatMs))],
        ['transactions, events each', ...cells((r) => `${total(r, (f) => f.transactions)}, ${spread(r.map((f) => f.eventsPerTransaction), (n) => n.toFixed(1))}`)],
        ['missing / out of order / duplicates', ...cells((r) => `${total(r, (f) => f.missing)} / ${total(r, (f) => f.outOfOrder)} / ${total(r, (f) => f.duplicates)}`)],
      ],
    );
  }
};

export const run = async (args: string[]): Promise<void> => {
  const options = benchOptions('appservice', usage, () => parseAppserviceBenchArgs(args));
  if (options === undefined) return;
  const watchdog = startWatchdog('appservice', options.maxRuntimeSeconds);
  const loadBefore = loadAverage();
  const http: HttpOptions = { baseUrl: '', timeoutMs: options.requestTimeoutSeconds * 1000, signal: watchdog.signal };
  const servers = new Map<BridgeServer, BridgedServer>();
  const results: Results = new Map();
  const errors: string[] = [];
  try {
    for (const kind of options.servers) {
      try {
        servers.set(kind, kind === 'strata' ? await startStrata(options, http) : await startSynapse(http));
      } catch (error) {
        errors.push(`${kind} did not start: ${message(error)}`);
      }
    }
    for (let r = 1; r <= options.runs && !watchdog.signal.aborted; r += 1) {
      for (const [kind, server] of servers) {
        const prefix = `[${server.label} run ${r}/${options.runs}]`;
        try {
          const runId = newRunId();
          const serverHttp = { ...http, baseUrl: server.clientUrl };
          const population = await populate(server, options, serverHttp, runId);
          say(`${prefix} ${options.senders} senders, ${options.rooms} rooms with the bridge's puppet, warm-up delivered`);
          for (const rate of options.rates) {
            if (watchdog.signal.aborted) break;
            const figures = await runStep(server, population, options, rate, runId, serverHttp, (line) => say(`${prefix} ${line}`));
            const perRate = results.get(kind) ?? new Map<number, StepFigures[]>();
            perRate.set(rate, [...(perRate.get(rate) ?? []), figures]);
            results.set(kind, perRate);
            say(`${prefix} ${rate}/s: ${figures.delivered}/${figures.sent} delivered, ${figures.eventsPerSecond.toFixed(1)}/s, p99 ${formatMs(figures.latency.p99)}`);
            if (figures.firstError !== undefined) say(`${prefix} first send failure: ${figures.firstError}`);
          }
        } catch (error) {
          errors.push(`${prefix} ${message(error)}`);
        }
      }
    }
  } finally {
    watchdog.stop();
    for (const server of [...servers.values()].reverse()) await server.stop().catch((error: unknown) => say(`error: stopping ${server.label}: ${message(error)}`));
  }
  report(options, results, new Map([...servers].map(([kind, server]) => [kind, server.label])));
  process.stdout.write(`\nmachine: ${availableParallelism()} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; load average before ${loadBefore}, after ${loadAverage()}\n`);
  for (const server of servers.values()) process.stdout.write(`${server.label}: ${server.description}\n`);
  for (const line of errors) process.stdout.write(`error: ${line}\n`);
  const lossy = [...results.values()].some((perRate) => [...perRate.values()].flat().some((f) => f.missing > 0 || f.outOfOrder > 0 || f.duplicates > 0));
  if (errors.length > 0 || lossy) process.exitCode = 1;
};
