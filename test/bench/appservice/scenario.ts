/**
 * One server of `npm run bench appservice`: the test bridge started beside it, then per run fresh
 * senders (local users), rooms and a puppet of the bridge in each room, and per offered rate an
 * open-loop step of messages whose arrivals at the bridge are timed.
 */
import { randomBytes } from 'node:crypto';
import { mapLimit } from '../cs/population.ts';
import { createRoom, joinRoom, registerWithSharedSecret, sendMessage, type HttpOptions, type Session } from '../cs/matrixClient.ts';
import type { TestBridge } from '../../harness/testBridge.ts';
import { stepFigures, type Arrival, type SendRecord, type StepFigures } from './figures.ts';
import type { AppserviceBenchOptions } from './options.ts';

export interface BridgedServer {
  readonly label: string;
  readonly clientUrl: string;
  readonly sharedSecret: string;
  readonly bridge: TestBridge;
  /** Software and version, and its database, for the report. */
  readonly description: string;
  stop(): Promise<void>;
}

export interface Population {
  readonly senders: readonly Session[];
  readonly rooms: readonly string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Senders in every room, the bridge's puppet joined to each; waits until the bridge hears of it all. */
export const populate = async (server: BridgedServer, options: AppserviceBenchOptions, http: HttpOptions, runId: string): Promise<Population> => {
  const { bridge } = server;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const senders = await mapLimit(Array.from({ length: options.senders }, (_, i) => i), 4,
    (i) => registerWithSharedSecret(http, server.sharedSecret, `${runId}s${i}`, password));
  const puppet = await bridge.client.registerPuppet(`${bridge.registration.userPrefix}${runId}`, { inhibitLogin: true });
  const rooms: string[] = [];
  for (let r = 0; r < options.rooms; r += 1) {
    const roomId = await createRoom(http, senders[0]!, `${runId} room ${r}`);
    await mapLimit(senders.slice(1), 4, (sender) => joinRoom(http, sender, roomId));
    await bridge.client.ok('POST', `/join/${encodeURIComponent(roomId)}`, { json: {}, as: puppet.userId });
    rooms.push(roomId);
  }
  // A first message per room from every sender: connections, caches and the bridge's interest warm.
  const warmUp = await mapLimit(rooms.flatMap((roomId) => senders.map((sender) => ({ roomId, sender }))), 8,
    ({ roomId, sender }) => sendMessage(http, sender, roomId, `${runId}-warm-${randomBytes(4).toString('hex')}`, { msgtype: 'm.text', body: 'warm-up' }));
  const pending = new Set(warmUp);
  await bridge.waitFor('the warm-up messages', () => {
    for (const received of bridge.events) pending.delete(received.event.event_id as string);
    return pending.size === 0;
  }, 60_000);
  return { senders, rooms };
};

/** Sends at `rate` for the step's duration (open loop), then waits up to the drain for every delivery. */
export const runStep = async (
  server: BridgedServer, population: Population, options: AppserviceBenchOptions, rate: number, runId: string,
  http: HttpOptions, say: (line: string) => void,
): Promise<StepFigures> => {
  const { bridge } = server;
  const firstArrival = bridge.events.length;
  const sends: SendRecord[] = [];
  const inFlight: Promise<void>[] = [];
  let outstanding = 0;
  const total = Math.max(1, Math.round(rate * options.durationSeconds));
  const start = performance.now();
  for (let i = 0; i < total && !http.signal.aborted; i += 1) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const roomId = population.rooms[i % population.rooms.length]!;
    const sender = population.senders[Math.floor(i / population.rooms.length) % population.senders.length]!;
    const record: SendRecord = { roomId, startedAt: performance.now() };
    sends.push(record);
    if (outstanding >= options.maxInFlight) {
      record.skipped = true;
      continue;
    }
    outstanding += 1;
    inFlight.push(sendMessage(http, sender, roomId, `${runId}-${rate}-${i}`, { msgtype: 'm.text', body: `bench ${rate}/s #${i}` }).then(
      (eventId) => {
        record.eventId = eventId;
        record.returnedAt = performance.now();
      },
      (error: unknown) => {
        record.error = message(error);
      },
    ).finally(() => {
      outstanding -= 1;
    }));
  }
  await Promise.all(inFlight);
  const pending = new Set(sends.flatMap((send) => (send.eventId === undefined ? [] : [send.eventId])));
  let cursor = firstArrival;
  await bridge.waitFor(`all ${pending.size} messages at ${rate}/s`, () => {
    for (; cursor < bridge.events.length; cursor += 1) pending.delete(bridge.events[cursor]!.event.event_id as string);
    return pending.size === 0;
  }, options.drainSeconds * 1000).catch(() => say(`${pending.size} messages not delivered ${options.drainSeconds} s after sending stopped`));
  const arrivals: Arrival[] = bridge.events.slice(firstArrival).map((received) => ({
    eventId: received.event.event_id as string, roomId: received.event.room_id as string, txnId: received.txnId, receivedAt: received.receivedAt,
  }));
  const txnSizes = new Map(bridge.transactions.map((txn) => [txn.txnId, txn.events.length]));
  return stepFigures(rate, sends, arrivals, txnSizes);
};
