/**
 * What federation interop tests read and compare on each server: a room's whole message history,
 * its current state as (type, state_key) → event id, its joined members; and `eventually`, which
 * polls until a condition holds (federation is asynchronous), failing after a deadline.
 */
import { e, type Body, type UserClient } from '../harness/index.ts';

/**
 * Polls `read` until `until` holds; fails after `timeoutMs` with the last value seen and the last
 * error, so a failure says what the server showed instead.
 */
export const eventually = async <T>(read: () => Promise<T>, until: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let failure: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (until(last)) return last;
    } catch (error) {
      failure = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`${what}: not seen in ${timeoutMs} ms (last: ${JSON.stringify(last)?.slice(0, 1500)}; error: ${String(failure)})`);
};

/** Every event of the room's timeline as `user`'s server serves it, oldest first (paginating /messages back to the start). */
export const allEvents = async (user: UserClient, roomId: string): Promise<Body[]> => {
  const events: Body[] = [];
  let from: string | undefined;
  for (let page = 0; page < 50; page += 1) {
    const reply = await user.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 100, ...(from === undefined ? {} : { from }) });
    events.push(...(reply.chunk as Body[]));
    if (typeof reply.end !== 'string' || (reply.chunk as Body[]).length === 0) break;
    from = reply.end;
  }
  return events.reverse();
};

/** Bodies of the room's m.room.message events on `user`'s server, oldest first. */
export const messageBodiesOf = async (user: UserClient, roomId: string): Promise<string[]> =>
  (await allEvents(user, roomId)).filter((event) => event.type === 'm.room.message').map((event) => String(event.content.body));

/** The ids of every event of the room's timeline on `user`'s server, sorted (to compare servers' histories). */
export const timelineEventIds = async (user: UserClient, roomId: string): Promise<string[]> =>
  (await allEvents(user, roomId)).map((event) => String(event.event_id)).sort();

/** Every server's timeline holds the same events: fails with what each holds after the deadline. */
export const sameTimelineEverywhere = (users: readonly UserClient[], roomId: string, what: string, timeoutMs = 30_000): Promise<string[][]> =>
  eventually(
    () => Promise.all(users.map((user) => timelineEventIds(user, roomId))),
    (all) => all.every((ids) => JSON.stringify(ids) === JSON.stringify(all[0])),
    what, timeoutMs,
  );

/** True when `bodies` holds every one of `expected`. */
export const holdsAll = (bodies: readonly string[], expected: readonly string[]): boolean => {
  const seen = new Set(bodies);
  return expected.every((body) => seen.has(body));
};

/** The room's current state on `user`'s server: `type|state_key` → event id, sorted by key. */
export const currentState = async (user: UserClient, roomId: string): Promise<Record<string, string>> => {
  const events = (await user.client.ok('GET', `/rooms/${e(roomId)}/state`, { token: user.session.accessToken })) as unknown as Body[];
  const entries = events.map((event): [string, string] => [`${String(event.type)}|${String(event.state_key)}`, String(event.event_id)]);
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
};

/** The content of one state event on `user`'s server (`GET /rooms/{id}/state/{type}/{key}`). */
export const stateContent = (user: UserClient, roomId: string, type: string, stateKey = ''): Promise<Body> =>
  user.get(`/rooms/${e(roomId)}/state/${e(type)}/${e(stateKey)}`);

/** The room's joined members on `user`'s server, sorted. */
export const joinedMembers = async (user: UserClient, roomId: string): Promise<string[]> =>
  Object.keys((await user.get(`/rooms/${e(roomId)}/joined_members`)).joined as Body).sort();

/** The (type|state_key) entries on which `states` differ, each with every server's event id. */
export const stateDifferences = (states: readonly Record<string, string>[]): Record<string, (string | null)[]> => {
  const keys = [...new Set(states.flatMap((state) => Object.keys(state)))].sort();
  const differing = keys.filter((key) => new Set(states.map((state) => state[key] ?? null)).size > 1);
  return Object.fromEntries(differing.map((key) => [key, states.map((state) => state[key] ?? null)]));
};

/** Equal current states on every server: fails with the differences after the deadline. */
export const sameStateEverywhere = async (users: readonly UserClient[], roomId: string, what: string, timeoutMs = 30_000): Promise<Record<string, string>> => {
  const deadline = Date.now() + timeoutMs;
  let differences: Record<string, (string | null)[]> = {};
  while (Date.now() < deadline) {
    const states = await Promise.all(users.map((user) => currentState(user, roomId)));
    differences = stateDifferences(states);
    if (Object.keys(differences).length === 0) return states[0]!;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`${what}: not seen in ${timeoutMs} ms; differing (type|state_key → event id per server, in the order `
    + `${users.map((user) => user.userId).join(', ')}): ${JSON.stringify(differences)}`);
};
