/**
 * One run of one pair: users of the sending server post into a room of theirs that users of the
 * receiving server joined over federation, at an open-loop rate; the receiving users long-poll a
 * filtered /sync and every arrival is timed against the PUT /send that made the message.
 */
import { randomBytes } from 'node:crypto';
import { startListener, type Listener } from '../cs/listener.ts';
import {
  createRoom, joinRoom, registerWithSharedSecret, request, sendMessage, withRetry, type HttpOptions, type Json, type Session,
} from '../cs/matrixClient.ts';
import { mapLimit } from '../cs/population.ts';
import { sendErrorKind } from '../cs/scenario.ts';
import { runOpenLoop, type OpenLoopResult } from '../cs/scheduler.ts';
import { benchMessageContent, benchMessageId } from '../cs/tracker.ts';
import type { FederationBenchOptions } from './options.ts';
import type { Homeserver } from './servers.ts';
import { counterDelta, readBacklog, readSenderCounters, type SenderCounters } from './senderMetrics.ts';
import { createRunTracker, type RunFigures, type RunTracker } from './tracker.ts';

export interface RunResult {
  readonly run: number;
  /** Receiving users' joins through the sending server, one after the other. */
  readonly joinMs?: number;
  /** A first message's trip to every listener before the measured sending (cold connections, key fetches). */
  readonly warmupMs?: number;
  readonly schedule?: OpenLoopResult;
  readonly figures?: RunFigures;
  /** The sending Strata's federation sender over the measured sending and drain (undefined for Synapse). */
  readonly senderCounters?: SenderCounters;
  readonly syncErrors: number;
  readonly limitedGaps: number;
  readonly lastSyncError?: string;
  readonly error?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CS = '/_matrix/client/v3';

/** Polls until `done` holds or `timeoutMs` passes; returns whether it held. */
const waitFor = async (done: () => boolean | Promise<boolean>, timeoutMs: number, signal: AbortSignal): Promise<boolean> => {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && !signal.aborted) {
    if (await done()) return true;
    await sleep(100);
  }
  return false;
};

/** A remote join through `via`, retried: the first one may wait on key fetches and new connections. */
const joinThrough = async (http: HttpOptions, session: Session, roomId: string, via: string): Promise<void> => {
  const query = new URLSearchParams({ server_name: via, via });
  for (let attempt = 1; ; attempt += 1) {
    try {
      await request(http, 'POST', `${CS}/join/${encodeURIComponent(roomId)}?${query}`, { token: session.accessToken, body: {} });
      return;
    } catch (error) {
      if (attempt >= 5 || http.signal.aborted) throw error;
      await sleep(2000);
    }
  }
};

const joinedMembers = async (http: HttpOptions, session: Session, roomId: string): Promise<string[]> =>
  Object.keys((await request(http, 'GET', `${CS}/rooms/${encodeURIComponent(roomId)}/joined_members`, { token: session.accessToken })).joined as Json);

/** Bench message ids in the room's history as the receiver serves it, newest first, bounded. */
const readHistory = async (http: HttpOptions, session: Session, roomId: string, pages: number): Promise<Set<string>> => {
  const ids = new Set<string>();
  const filter = JSON.stringify({ types: ['m.room.message'] });
  let from: string | undefined;
  for (let page = 0; page < pages; page += 1) {
    const params = new URLSearchParams({ dir: 'b', limit: '100', filter, ...(from === undefined ? {} : { from }) });
    const body = await request(http, 'GET', `${CS}/rooms/${encodeURIComponent(roomId)}/messages?${params}`, { token: session.accessToken });
    const chunk = Array.isArray(body.chunk) ? (body.chunk as unknown[]) : [];
    for (const event of chunk) {
      const id = benchMessageId(event);
      if (id !== undefined) ids.add(id);
    }
    if (chunk.length === 0 || typeof body.end !== 'string') break;
    from = body.end;
  }
  return ids;
};

export const runPair = async (
  sender: Homeserver, receiver: Homeserver, options: FederationBenchOptions, run: number, runId: string,
  signal: AbortSignal, say: (line: string) => void,
): Promise<RunResult> => {
  const timeoutMs = options.requestTimeoutSeconds * 1000;
  const out: HttpOptions = { baseUrl: sender.clientUrl, timeoutMs, signal };
  const into: HttpOptions = { baseUrl: receiver.clientUrl, timeoutMs, signal };
  const tag = `${runId}r${run}`;
  const password = randomBytes(12).toString('hex');
  let listeners: Listener[] = [];
  let tracker: RunTracker | undefined;
  const partial: { -readonly [K in keyof RunResult]?: RunResult[K] } = {};
  const syncHealth = () => ({
    syncErrors: listeners.reduce((n, l) => n + l.stats.errors, 0),
    limitedGaps: listeners.reduce((n, l) => n + l.stats.limitedGaps, 0),
    ...(() => {
      const last = listeners.map((l) => l.stats.lastError).find((e) => e !== undefined);
      return last === undefined ? {} : { lastSyncError: last };
    })(),
  });
  try {
    say(`registering ${options.senders} senders on ${sender.label}, ${options.listeners} listeners on ${receiver.label}`);
    const register = (http: HttpOptions, server: Homeserver, name: string) =>
      withRetry(() => registerWithSharedSecret(http, server.sharedSecret, `${tag}_${name}`, password));
    const senders = await mapLimit(Array.from({ length: options.senders }, (_, i) => `s${i}`), 4, (name) => register(out, sender, name));
    const readers = await mapLimit(Array.from({ length: options.listeners }, (_, i) => `l${i}`), 4, (name) => register(into, receiver, name));

    const owner = senders[0] as Session;
    const roomId = await withRetry(() => createRoom(out, owner, `${tag} federation bench`));
    await mapLimit(senders.slice(1), 4, (s) => withRetry(() => joinRoom(out, s, roomId)));
    const joinStart = performance.now();
    for (const reader of readers) await joinThrough(into, reader, roomId, sender.serverName);
    const allJoined = await waitFor(async () => {
      const members = await joinedMembers(out, owner, roomId);
      return readers.every((r) => members.includes(r.userId));
    }, 30_000, signal);
    if (!allJoined) throw new Error(`${sender.label} does not list the ${receiver.label} users as joined 30 s after their joins returned`);
    partial.joinMs = performance.now() - joinStart;
    say(`room ${roomId}: ${options.listeners} remote joins took ${Math.round(partial.joinMs)} ms`);

    let current: RunTracker = createRunTracker(options.listeners);
    const onEvent = (event: Json, listener: number, receivedAt: number) => {
      const id = benchMessageId(event);
      if (id !== undefined) current.seen(id, listener, receivedAt);
    };
    listeners = await mapLimit(readers, 4, (session, index) => startListener({ http: into, session, roomId, index, onEvent }));
    if (listeners.some((l) => !l.filtered)) say(`${receiver.label} refused the sync filter; listeners use plain /sync`);

    const send = async (t: RunTracker, id: string, index: number) => {
      t.sendStarted(id, performance.now());
      try {
        await sendMessage(out, senders[index % senders.length] as Session, roomId, id, benchMessageContent(id, Date.now()));
        t.sendReturned(id, performance.now());
      } catch (error) {
        t.sendReturned(id, performance.now(), sendErrorKind(error));
      }
    };
    const warmStart = performance.now();
    await send(current, `${tag}.warmup`, 0);
    if (!(await waitFor(() => current.outstanding() === 0, 60_000, signal))) throw new Error('the warm-up message did not reach every listener within 60 s');
    partial.warmupMs = performance.now() - warmStart;
    say(`warm-up message seen by every listener after ${Math.round(partial.warmupMs)} ms; sending ${options.rate}/s for ${options.durationSeconds} s`);

    tracker = current = createRunTracker(options.listeners);
    const measured = tracker;
    const scheduled = Math.round(options.rate * options.durationSeconds);
    let issued = 0;
    const countersBefore = await readSenderCounters(sender.metricsUrl);
    const startedAt = performance.now();
    const progress = setInterval(() => void readBacklog(sender.metricsUrl, receiver.serverName).then((backlog) => {
      say(`${Math.round((performance.now() - startedAt) / 1000)} s: sent ${issued} / ${scheduled}, accepted ${measured.accepted()}, ` +
        `deliveries outstanding ${measured.outstanding()}${backlog === undefined ? '' : `, PDUs waiting in the sender ${backlog}`}`);
    }), 5000);
    try {
      partial.schedule = await runOpenLoop({
        rate: options.rate, durationSeconds: options.durationSeconds, maxInFlight: options.maxInFlight, signal,
        send: async (i) => {
          issued = i + 1;
          await send(measured, `${tag}.${i}`, i);
        },
      });
      await waitFor(() => measured.outstanding() === 0, options.drainSeconds * 1000, signal);
    } finally {
      clearInterval(progress);
    }
    const senderCounters = counterDelta(countersBefore, await readSenderCounters(sender.metricsUrl));
    if (senderCounters !== undefined) partial.senderCounters = senderCounters;
    try {
      measured.recordHistory(await readHistory(into, readers[0] as Session, roomId, Math.ceil(scheduled / 100) + 5));
    } catch (error) {
      say(`reading the receiver's /messages failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    partial.figures = measured.figures();
    if (signal.aborted) throw new Error('aborted (--max-runtime reached)');
    return { run, ...partial, ...syncHealth() };
  } catch (error) {
    if (partial.figures === undefined && tracker !== undefined) partial.figures = tracker.figures();
    return { run, ...partial, ...syncHealth(), error: error instanceof Error ? error.message : String(error) };
  } finally {
    await Promise.all(listeners.map((l) => l.stop()));
  }
};
