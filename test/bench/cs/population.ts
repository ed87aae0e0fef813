/**
 * Who takes part: `rooms` rooms, each created by its first listener (public_chat preset) and joined
 * by the others; `clients` senders. Message i is sent by sender i mod clients into room i mod rooms,
 * so each sender joins only the rooms it will send to. With `membersSend` there are no separate
 * senders: message i is sent by a listener of room i mod rooms, taking the room's members in turn.
 */
import { randomBytes } from 'node:crypto';
import { createRoom, joinRoom, registerWithSharedSecret, withRetry, type HttpOptions, type Session } from './matrixClient.ts';

export interface Population {
  /** Who sends message i. */
  readonly senderOf: (i: number) => Session;
  /** listeners[room][k]: the k-th listener of a room. */
  readonly listeners: readonly (readonly Session[])[];
  readonly roomIds: readonly string[];
}

export interface PopulationSize {
  readonly clients: number;
  readonly rooms: number;
  readonly listenersPerRoom: number;
  readonly membersSend: boolean;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The (sender, room) pairs the schedule uses: one period of i ↦ (i mod clients, i mod rooms). */
export const senderRooms = (clients: number, rooms: number): [sender: number, room: number][] => {
  const period = (clients / gcd(clients, rooms)) * rooms;
  return Array.from({ length: period }, (_, i) => [i % clients, i % rooms]);
};

/** The member (k-th listener of room i mod rooms) who sends message i when members send. */
export const memberSender = (i: number, rooms: number, perRoom: number): [room: number, k: number] =>
  [i % rooms, Math.floor(i / rooms) % perRoom];

/** Global listener number of the k-th listener of a room (used to attribute deliveries). */
export const listenerNumber = (room: number, k: number, perRoom: number): number => room * perRoom + k;

/** Runs `task` over `items`, at most `limit` at a time, in order of start. */
export const mapLimit = async <T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

/** A lowercase prefix unique to this run, so reruns against the same server never collide. */
export const newRunId = (): string => `bench${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

export const populate = async (
  http: HttpOptions,
  sharedSecret: string,
  runId: string,
  size: PopulationSize,
  say: (line: string) => void,
): Promise<Population> => {
  const password = randomBytes(12).toString('hex');
  const register = (name: string) => withRetry(() => registerWithSharedSecret(http, sharedSecret, `${runId}_${name}`, password));

  const listenerNames = Array.from({ length: size.rooms * size.listenersPerRoom }, (_, i) => `l${i}`);
  const senderNames = Array.from({ length: size.membersSend ? 0 : size.clients }, (_, i) => `s${i}`);
  say(`registering ${listenerNames.length} listeners${size.membersSend ? ' (who also send)' : ` and ${senderNames.length} senders`}`);
  // Registration hashes passwords (bcrypt, argon2): a few at a time keeps it from starving the server.
  const registered = await mapLimit([...listenerNames, ...senderNames], 4, register);
  const listenerSessions = registered.slice(0, listenerNames.length);
  const senders = registered.slice(listenerNames.length);
  const listeners = Array.from({ length: size.rooms }, (_, r) =>
    Array.from({ length: size.listenersPerRoom }, (_, k) => listenerSessions[listenerNumber(r, k, size.listenersPerRoom)] as Session),
  );

  say(`creating ${size.rooms} rooms`);
  const roomIds = await mapLimit(listeners, 4, (members, r) =>
    withRetry(() => createRoom(http, members[0] as Session, `${runId} room ${r}`)),
  );

  const joins: [Session, string][] = [];
  listeners.forEach((members, r) => members.slice(1).forEach((member) => joins.push([member, roomIds[r] as string])));
  if (!size.membersSend) for (const [s, r] of senderRooms(size.clients, size.rooms)) joins.push([senders[s] as Session, roomIds[r] as string]);
  say(`joining (${joins.length} joins)`);
  await mapLimit(joins, 4, ([session, roomId]) => withRetry(() => joinRoom(http, session, roomId)));
  const senderOf = size.membersSend
    ? (i: number) => {
      const [room, k] = memberSender(i, size.rooms, size.listenersPerRoom);
      return (listeners[room] as Session[])[k] as Session;
    }
    : (i: number) => senders[i % size.clients] as Session;
  return { senderOf, listeners, roomIds };
};
