/**
 * `npm run bench sliding-sync -- --url URL --shared-secret S --start-synapse [...]`: simplified
 * sliding sync (MSC4186) request latency for a user in 1,000 rooms, each server in turn with the
 * same requests, as Element X's room list makes them: one list over the rooms by recency
 * (`ranges` [0, window - 1], `timeline_limit` 1, its required_state), with the account_data,
 * receipts and typing extensions. First response: a new connection's first request. Incremental: a
 * message is sent into the room longest without activity, then the connection's next request; its
 * latency runs until the answer that brings the room to the top. Runs alternate between the servers.
 * See docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { request, sendMessage, serverName, type HttpOptions, type Json } from '../cs/matrixClient.ts';
import { formatMs, summarize } from '../cs/stats.ts';
import { ensureSynapse, stopSynapse, synapseDatabase } from '../cs/synapse.ts';
import { parseSlidingSyncBenchArgs, usage, type SlidingSyncBenchOptions, type Target } from './options.ts';
import { benchUser, type BenchUser } from './population.ts';
import { formatTable, runFigures, type RunSamples, type ServerFigures } from './report.ts';

const say = (line: string) => void process.stderr.write(`${line}\n`);
const SLIDING_SYNC = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';
/** Long-poll of an incremental request; a message not answered within it counts as a failure. */
const LONG_POLL_MS = 10_000;

const requestBody = (options: SlidingSyncBenchOptions, connId: string): Json => ({
  conn_id: connId,
  lists: {
    all: {
      ranges: [[0, options.window - 1]],
      timeline_limit: 1,
      required_state: [
        ['m.room.name', ''], ['m.room.avatar', ''], ['m.room.encryption', ''], ['m.room.topic', ''],
        ['m.room.canonical_alias', ''], ['m.room.join_rules', ''], ['m.room.create', ''], ['m.room.member', '$ME'],
      ],
    },
  },
  ...(options.extensions ? {
    extensions: { account_data: { enabled: true }, receipts: { enabled: true }, typing: { enabled: true } },
  } : {}),
});

const slidingSync = (http: HttpOptions, user: BenchUser, body: Json, pos: string | undefined, timeoutMs: number): Promise<Json> => {
  const query = new URLSearchParams({ timeout: String(timeoutMs), ...(pos === undefined ? {} : { pos }) });
  return request(http, 'POST', `${SLIDING_SYNC}?${query}`, { token: user.accessToken, body, timeoutMs: timeoutMs + http.timeoutMs });
};

const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

const listCount = (answer: Json): number | undefined => {
  const lists = answer.lists as Record<string, { count?: unknown }> | undefined;
  return typeof lists?.all?.count === 'number' ? lists.all.count : undefined;
};

const oneRun = async (http: HttpOptions, user: BenchUser, options: SlidingSyncBenchOptions, run: number, order: string[]): Promise<RunSamples> => {
  const tag = randomBytes(4).toString('hex');
  const firsts: number[] = [];
  let connection: { body: Json; pos: string } | undefined;
  for (let i = 0; i < options.firsts; i++) {
    const body = requestBody(options, `bench-${tag}-${i}`);
    const start = process.hrtime.bigint();
    const answer = await slidingSync(http, user, body, undefined, 0);
    firsts.push(elapsedMs(start));
    const count = listCount(answer);
    if (count !== options.rooms) throw new Error(`first response lists ${String(count)} rooms, not ${options.rooms}`);
    if (typeof answer.pos !== 'string') throw new Error('first response has no pos');
    connection = { body, pos: answer.pos };
  }
  const incrementals: number[] = [];
  for (let i = 0; i < options.incrementals && connection !== undefined; i++) {
    // The room longest without activity: the message moves it from the list's end to its top.
    const roomId = order.shift()!;
    order.push(roomId);
    await sendMessage(http, user, roomId, `ssb-${tag}-${run}-${i}`, { msgtype: 'm.text', body: `bench ${i}` });
    const start = process.hrtime.bigint();
    for (;;) {
      const answer = await slidingSync(http, user, connection.body, connection.pos, LONG_POLL_MS);
      connection.pos = String(answer.pos);
      const rooms = answer.rooms as Record<string, unknown> | undefined;
      if (rooms !== undefined && Object.hasOwn(rooms, roomId)) break;
      if (elapsedMs(start) > LONG_POLL_MS) throw new Error(`no answer brought ${roomId} within ${LONG_POLL_MS} ms`);
    }
    incrementals.push(elapsedMs(start));
  }
  return { firsts, incrementals };
};

interface Prepared {
  readonly target: Target;
  readonly http: HttpOptions;
  readonly user: BenchUser;
  /** Rooms by time since their last message, oldest first. */
  readonly order: string[];
  readonly runs: RunSamples[];
}

const prepare = async (target: Target, options: SlidingSyncBenchOptions): Promise<Prepared> => {
  const http: HttpOptions = { baseUrl: target.url, timeoutMs: 60_000, signal: new AbortController().signal };
  const name = (await serverName(http)) ?? new URL(target.url).host;
  say(`bench sliding-sync: ${target.label} at ${target.url} (${name})`);
  const user = await benchUser(http, target.sharedSecret, name, options.rooms, say);
  // One unmeasured first request: a server just started has cold caches.
  await slidingSync(http, user, requestBody(options, `bench-warm-${randomBytes(4).toString('hex')}`), undefined, 0);
  return { target, http, user, order: [...user.roomIds], runs: [] };
};
export const run = async (args: string[]): Promise<void> => {
  let options: SlidingSyncBenchOptions;
  try {
    const parsed = parseSlidingSyncBenchArgs(args, process.env);
    if (parsed === 'help') {
      process.stdout.write(`${usage}\n`);
      return;
    }
    options = parsed;
  } catch (error) {
    say(`bench sliding-sync: ${error instanceof Error ? error.message : String(error)}\n${usage}`);
    process.exitCode = 2;
    return;
  }
  let startedSynapse = false;
  try {
    if (options.startSynapse) {
      startedSynapse = ensureSynapse();
      say(`bench sliding-sync: Synapse baseline on ${synapseDatabase()}`);
    }
    say(`bench sliding-sync: ${options.rooms} rooms, list window ${options.window}, ${options.runs} runs × ` +
      `(${options.firsts} first responses + ${options.incrementals} incremental)${options.extensions ? ', extensions account_data, receipts, typing' : ''}`);
    const servers: Prepared[] = [];
    for (const target of options.targets) servers.push(await prepare(target, options));
    // Runs alternate between the servers, so a busy spell of the machine weighs on both.
    for (let run = 0; run < options.runs; run++) {
      for (const server of servers) {
        const samples = await oneRun(server.http, server.user, options, run, server.order);
        say(`  ${server.target.label} run ${run + 1}: first p50 ${formatMs(summarize(samples.firsts).p50)}, ` +
          `incremental p50 ${formatMs(summarize(samples.incrementals).p50)}`);
        server.runs.push(samples);
      }
    }
    const results: ServerFigures[] = servers.map((server) => runFigures(server.target.label, server.runs));
    process.stdout.write(`${formatTable(results)}\n`);
  } catch (error) {
    say(`error: bench sliding-sync: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    if (startedSynapse) stopSynapse();
  }
};
