/**
 * `npm run bench search [-- options]`: one corpus of messages (bench analytics' generator, Zipf
 * words) loaded into Strata (distributed mode, through its room log) and into Synapse on
 * PostgreSQL (a few thousand through its API, the rest copied into its tables: synapseCorpus.ts),
 * then the same searches asked of each from concurrent clients. Prints queries/s and latency per
 * search kind side by side, with each server's `count`. See docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { registerWithSharedSecret, request, type HttpOptions, type Session } from '../cs/matrixClient.ts';
import { formatMs } from '../cs/stats.ts';
import { readVersion, startStrataProcess, startSynapse, synapseScript, type Homeserver, type SynapsePeerSpec } from '../federation/servers.ts';
import { printTable } from '../measure.ts';
import { SEARCH_MIX, type CorpusOptions } from '../analytics/corpus.ts';
import { runSearchLoad, type KindFigures } from './load.ts';
import { parseSearchBenchArgs, usage, type SearchBenchOptions, type SearchServer } from './options.ts';
import { searchAnswer, searchBody, searchKinds, type SearchKind } from './queries.ts';
import { loadStrataCorpus } from './strataCorpus.ts';
import { loadSynapseCorpus } from './synapseCorpus.ts';
import { benchOptions, loadAverage, startWatchdog } from '../runner.ts';

const say = (line: string) => void process.stderr.write(`${line}\n`);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const KAFKA_BROKERS = '127.0.0.1:19092';
const POSTGRES = 'postgres://strata:strata@127.0.0.1:15432';
const SEARCH_PATH = '/_matrix/client/v3/search';

/** A Synapse of this bench's own: its copies must not land in the database other benches and tests use. */
const SYNAPSE_SEARCH: SynapsePeerSpec = {
  label: 'Synapse', tlsPort: 18471, clientPort: 18031, database: 'synapse_searchbench',
  servicesDir: path.join(repoRoot, '.services', 'bench-search-synapse'),
};

/** Why the servers' counts of one search may differ although they hold the same messages. */
const COUNTS_NOTE = 'counts: Strata takes the last word as a prefix (a word also finds "word.jpg" file names), drops redacted messages and '
  + "indexes the corpus's room names and topics; Synapse's copies are the messages only, matched as whole words.";

interface Measured {
  readonly label: string;
  readonly description: string;
  readonly loading: string;
  /** By search kind name. */
  readonly figures: Map<string, KindFigures>;
  readonly counts: Map<string, number | undefined>;
}

const corpusOptions = (options: SearchBenchOptions, serverName: string, searcher: string): CorpusOptions => {
  const toMs = Date.UTC(2026, 11, 1);
  return {
    events: options.messages, countMessages: true, rooms: options.rooms, senders: Math.max(50, Math.round(options.messages / 500)),
    remoteServers: 0, serverName, fromMs: toMs - options.days * 86_400_000, toMs, seed: options.seed, mix: SEARCH_MIX,
    memberOfEveryRoom: searcher,
  };
};

/** Every kind on one server: its count once, then `--duration` seconds of load. */
const measure = async (options: SearchBenchOptions, http: HttpOptions, session: Session, largestRoomId: string, label: string) => {
  const figures = new Map<string, KindFigures>();
  const counts = new Map<string, number | undefined>();
  for (const kind of searchKinds()) {
    const body = searchBody(kind, largestRoomId);
    const first = searchAnswer(await request(http, 'POST', SEARCH_PATH, { token: session.accessToken, body }));
    counts.set(kind.name, first.count);
    let pathWithToken = SEARCH_PATH;
    if (kind.secondPage === true) {
      if (first.nextBatch === undefined) throw new Error(`${label}: '${kind.name}' answered no next_batch (count ${first.count})`);
      pathWithToken = `${SEARCH_PATH}?next_batch=${encodeURIComponent(first.nextBatch)}`;
    }
    const result = await runSearchLoad({ http, token: session.accessToken, path: pathWithToken, body, clients: options.clients, seconds: options.durationSeconds });
    figures.set(kind.name, result);
    say(`${label}: ${kind.name}: count ${first.count}, ${result.perSecond.toFixed(1)}/s, p50 ${formatMs(result.p50)}, p99 ${formatMs(result.p99)}, ${result.errors} errors${result.firstError === undefined ? '' : ` (${result.firstError})`}`);
  }
  return { figures, counts };
};

const runStrata = async (options: SearchBenchOptions, http: HttpOptions, runId: string, signal: AbortSignal): Promise<Measured> => {
  const server = await startStrataProcess('Strata', 'distributed', say, {
    rate_limits: { login: false, registration: false, messages: false }, search_language: 'english',
  });
  try {
    await readVersion(server, http);
    const serverHttp = { ...http, baseUrl: server.clientUrl };
    const searcher = await registerWithSharedSecret(serverHttp, server.sharedSecret, `searcher${runId}`, `pw-${runId}`);
    const loaded = await loadStrataCorpus({
      kafkaBrokers: KAFKA_BROKERS, kafkaNamespace: server.kafkaNamespace!, postgresUrl: server.postgresUrl!,
      corpus: corpusOptions(options, server.serverName, searcher.userId), signal,
    });
    const { figures, counts } = await measure(options, serverHttp, searcher, loaded.largestRoomId, 'Strata');
    return {
      label: 'Strata', description: `${server.version}, ${server.database}, search_language english`, figures, counts,
      loading: `${count(loaded.records)} records appended to its room log in ${loaded.writeSeconds.toFixed(0)} s, indexed by the rooms and search projections in ${loaded.indexSeconds.toFixed(0)} s`,
    };
  } finally {
    await server.stop();
  }
};

const runSynapse = async (options: SearchBenchOptions, http: HttpOptions, runId: string): Promise<Measured> => {
  const server: Homeserver = await startSynapse(SYNAPSE_SEARCH, options.keepSynapse, say);
  try {
    await readVersion(server, http);
    const serverHttp = { ...http, baseUrl: server.clientUrl };
    const searcher = await registerWithSharedSecret(serverHttp, server.sharedSecret, `searcher${runId}`, `pw-${runId}`);
    const loaded = await loadSynapseCorpus({
      http: serverHttp, searcher, databaseUrl: `${POSTGRES}/${SYNAPSE_SEARCH.database}`,
      corpus: corpusOptions(options, server.serverName, searcher.userId), apiMessages: options.apiMessages, say,
    });
    // Its stream positions and caches start again from the tables, copies included.
    say('Synapse: restarting on the loaded tables');
    synapseScript(SYNAPSE_SEARCH, 'stop', 120);
    if (synapseScript(SYNAPSE_SEARCH, 'start', 300) !== 0) throw new Error('Synapse did not start again after loading (see above)');
    // The client's kept-alive sockets went with the old process: the first requests may find them closed.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await request(serverHttp, 'GET', '/_matrix/client/versions');
        break;
      } catch (error) {
        if (attempt >= 5) throw error;
      }
    }
    const largestRoomId = [...loaded.roomIds.entries()].sort((a, b) => a[0] - b[0])[0]![1];
    const { figures, counts } = await measure(options, serverHttp, searcher, largestRoomId, 'Synapse');
    // Its own search must find copies, not only the messages it was sent.
    const common = counts.get(searchKinds()[0]!.name) ?? 0;
    if (loaded.copiedMessages > 0 && common <= loaded.apiMessages) throw new Error(`Synapse's search finds ${common} messages with the commonest word: the copies are not searchable`);
    return {
      label: 'Synapse', description: `${server.version}, ${server.database}`, figures, counts,
      loading: `${count(loaded.rooms)} rooms and ${count(loaded.apiMessages)} messages through its API, ${count(loaded.copiedMessages)} copied into its tables, in ${loaded.seconds.toFixed(0)} s`,
    };
  } finally {
    await server.stop();
    if (!options.keepSynapse && synapseScript(SYNAPSE_SEARCH, 'status', 30) !== 0) {
      const admin = new pg.Client({ connectionString: `${POSTGRES}/strata` });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${SYNAPSE_SEARCH.database} WITH (FORCE)`).catch((error: unknown) => say(`error: dropping ${SYNAPSE_SEARCH.database}: ${message(error)}`));
      await admin.end();
    }
  }
};

const report = (options: SearchBenchOptions, results: readonly Measured[]): void => {
  const kinds = searchKinds();
  const cells = (kind: SearchKind, of: (f: KindFigures) => string) => results.map((r) => {
    const f = r.figures.get(kind.name);
    return f === undefined ? '-' : of(f);
  });
  const countOf = (r: Measured, kind: SearchKind) => r.counts.get(kind.name);
  printTable(
    `Searches of ${count(options.messages)} messages in ${count(options.rooms)} rooms the searcher joined: ${options.clients} concurrent clients, ${options.durationSeconds} s per search and server`,
    ['search', ...results.map((r) => `${r.label} q/s`), ...results.map((r) => `${r.label} p50 / p99`), 'count (hits)', 'errors'],
    kinds.map((kind) => {
      const counts = results.map((r) => countOf(r, kind));
      const same = counts.every((c) => c === counts[0]);
      return [
        kind.name,
        ...cells(kind, (f) => f.perSecond.toFixed(1)),
        ...cells(kind, (f) => `${formatMs(f.p50)} / ${formatMs(f.p99)}`),
        `${counts.map((c) => (c === undefined ? '-' : count(c))).join(' / ')}${results.length > 1 ? (same ? ' (same)' : ' (differ: see below)') : ''}`,
        cells(kind, (f) => String(f.errors)).join(' / '),
      ];
    }),
  );
  for (const kind of kinds) if (kind.countsMayDiffer !== undefined) process.stdout.write(`${kind.name}: ${kind.countsMayDiffer}\n`);
  if (results.length > 1) process.stdout.write(`${COUNTS_NOTE}\n`);
};

export const run = async (args: string[]): Promise<void> => {
  const options = benchOptions('search', usage, () => parseSearchBenchArgs(args));
  if (options === undefined) return;
  const watchdog = startWatchdog('search', options.maxRuntimeSeconds, 120_000);
  const loadBefore = loadAverage();
  const http: HttpOptions = { baseUrl: '', timeoutMs: options.requestTimeoutSeconds * 1000, signal: watchdog.signal };
  const runId = randomBytes(4).toString('hex');
  const results: Measured[] = [];
  const errors: string[] = [];
  for (const server of options.servers as SearchServer[]) {
    if (watchdog.signal.aborted) break;
    try {
      results.push(server === 'strata' ? await runStrata(options, http, runId, watchdog.signal) : await runSynapse(options, http, runId));
    } catch (error) {
      errors.push(`${server}: ${message(error)}`);
    }
  }
  watchdog.stop();
  report(options, results);
  process.stdout.write(`\nmachine: ${availableParallelism()} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; load average before ${loadBefore}, after ${loadAverage()}\n`);
  for (const result of results) process.stdout.write(`${result.label}: ${result.description}; loaded: ${result.loading}\n`);
  for (const line of errors) process.stdout.write(`error: ${line}\n`);
  if (errors.length > 0 || results.some((r) => [...r.figures.values()].some((f) => f.errors > 0))) process.exitCode = 1;
};
