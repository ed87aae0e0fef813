/**
 * The warehouse counts remote events (issue 14's Done-when, across real federation): Strata in its
 * distributed deployment with ClickHouse hosts a room that two users of a Synapse peer join (the
 * federation instance of infra/services/synapse.sh, see synapsePeer.ts; Synapse, not a second
 * Strata, so the events are made by another implementation). The peer's users send two msgtypes, a
 * reaction, a thread reply and a redaction of one of their own messages; a Strata user talks too.
 * Everything is then read through the analyst API (never ClickHouse directly): the peer's server,
 * its senders and its events are counted as `federated`, and a scan of every String column of every
 * analytics table through POST /sql finds none of the words anyone wrote.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClickHouse } from '../../infra/clickhouse/index.ts';
import { ANALYTICS_TABLES } from '../../projections/analytics/index.ts';
import { chIdentifier } from '../../projections/runtime/index.ts';
import { MatrixClient, UserClient, e, freePort, startTestServer, type Body, type TestServer } from '../harness/index.ts';
import { allEvents, eventually } from './federationViews.ts';
import { startSynapsePeer, type SynapsePeer } from './synapsePeer.ts';

const DAY = 86_400_000;
// Unique words in every body (and the reaction's key): none may reach any column of the warehouse.
const MARKER = `FEDWORD${Date.now().toString(36).toUpperCase()}`;
// The warehouse is filled asynchronously, and its rollups just after its rows: ask until they settle.
const SETTLED = { timeout: 60_000, interval: 300 };

const unique = (): string => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

let peer: SynapsePeer | undefined;
let strata: TestServer | undefined;
let ana: UserClient;
let alice: UserClient;
let bob: UserClient;
let carol: UserClient;
let roomId: string;
let startedAt: number;
let clickhouseUrl: string;
const database = `strata_federated_analytics_${process.pid}_${Date.now()}`;
/** Event ids of what the peer's users sent, as Strata sees them. */
const remoteEventIds: string[] = [];

const analytics = async (method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; text: string }> => {
  const response = await fetch(`${strata!.url}/_strata/analytics/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ana.session.accessToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ask = async (path: string): Promise<Record<string, any>> => {
  const reply = await analytics('GET', path);
  if (reply.status !== 200) throw new Error(`GET ${path} → ${reply.status} ${reply.text}`);
  return JSON.parse(reply.text) as Record<string, unknown>;
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sql = async (query: string): Promise<{ columns: { name: string; type: string }[]; rows: any[][] }> => {
  const reply = await analytics('POST', '/sql', { query });
  if (reply.status !== 200) throw new Error(`POST /sql ${query} → ${reply.status} ${reply.text}`);
  return JSON.parse(reply.text) as { columns: { name: string; type: string }[]; rows: unknown[][] };
};

beforeAll(async () => {
  peer = await startSynapsePeer();
  clickhouseUrl = inject('strataTestServices').clickhouseUrl;
  const port = await freePort();
  const serverName = `127.0.0.1:${port}`;
  const analyst = `ana${unique()}`;
  strata = await startTestServer({
    mode: 'distributed',
    config: {
      STRATA_SERVER_NAME: serverName,
      STRATA_CLICKHOUSE_URL: clickhouseUrl,
      STRATA_CLICKHOUSE_DATABASE: database,
      STRATA_ANALYTICS_ANALYSTS: `@${analyst}:${serverName}`,
    },
    file: { federation: { listen: serverName, verify_certificates: false, ip_range_whitelist: ['127.0.0.1/32'] } },
  });
  const strataClient = new MatrixClient(strata.url);
  const synapseClient = new MatrixClient(peer.clientUrl);
  ana = new UserClient(strataClient, await strataClient.register(analyst));
  alice = new UserClient(strataClient, await strataClient.register(`alice${unique()}`));
  bob = new UserClient(synapseClient, await synapseClient.registerWithSharedSecret(peer.sharedSecret, `bob${unique()}`));
  carol = new UserClient(synapseClient, await synapseClient.registerWithSharedSecret(peer.sharedSecret, `carol${unique()}`));
}, 300_000);

afterAll(async () => {
  // Both, whatever happens to the first: a Synapse left running holds its ports for the next run.
  const stops = await Promise.allSettled([strata?.stop(), peer?.stop()]);
  // The server leaves its warehouse behind (a deployment's data): this run's is dropped.
  const ch = await createClickHouse({ url: clickhouseUrl, database });
  await ch.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
  await ch.close();
  const failed = stops.find((stop): stop is PromiseRejectedResult => stop.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}, 180_000);

describe('the warehouse of a Strata room joined by a Synapse peer', () => {
  it('carries the peer\'s messages, reaction, thread reply and redaction into the room', async () => {
    startedAt = Date.now();
    roomId = await alice.createRoom({ preset: 'private_chat', name: `${MARKER} name`, topic: `${MARKER} topic` });
    for (const remote of [bob, carol]) {
      await alice.post(`/rooms/${e(roomId)}/invite`, { user_id: remote.userId, reason: `${MARKER} invite` });
      await eventually(() => remote.sync(), (sync) => sync.rooms?.invite?.[roomId] !== undefined, `the invite of ${remote.userId} on Synapse`, 60_000);
      expect((await remote.post(`/join/${e(roomId)}`, {})).room_id).toBe(roomId);
    }
    const root = await alice.send(roomId, `${MARKER} alice root`);
    await alice.send(roomId, `${MARKER} alice again`);
    await eventually(() => allEvents(bob, roomId), (events) => events.some((event) => event.event_id === root), 'alice\'s root on Synapse', 60_000);

    const sent = async (user: UserClient, type: string, content: Body): Promise<string> =>
      (await user.put(`/rooms/${e(roomId)}/send/${type}/${unique()}`, content)).event_id as string;
    remoteEventIds.push(
      await sent(bob, 'm.room.message', { msgtype: 'm.text', body: `${MARKER} bob text` }),
      await sent(bob, 'm.room.message', { msgtype: 'm.notice', body: `${MARKER} bob notice` }),
      await sent(bob, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: root, key: `${MARKER}` } }),
      await sent(bob, 'm.room.message', {
        msgtype: 'm.text', body: `${MARKER} bob in thread`, 'm.relates_to': { rel_type: 'm.thread', event_id: root },
      }),
    );
    const doomed = await sent(bob, 'm.room.message', { msgtype: 'm.text', body: `${MARKER} bob regrets` });
    const redaction = (await bob.put(`/rooms/${e(roomId)}/redact/${e(doomed)}/${unique()}`, { reason: `${MARKER} why` })).event_id as string;
    remoteEventIds.push(doomed, redaction, await sent(carol, 'm.room.message', { msgtype: 'm.text', body: `${MARKER} carol text` }));

    // Strata holds every event the peer's users sent, the doomed one redacted.
    const events = await eventually(() => allEvents(alice, roomId),
      (timeline) => remoteEventIds.every((id) => timeline.some((event) => event.event_id === id)), 'the peer\'s events on Strata', 60_000);
    expect(events.find((event) => event.event_id === doomed)?.content).toEqual({});
    const remoteJoins = events.filter((event) => event.type === 'm.room.member' && event.content.membership === 'join' && event.sender !== alice.userId);
    expect(remoteJoins.map((event) => event.sender).sort()).toEqual([bob.userId, carol.userId].sort());
    remoteEventIds.push(...remoteJoins.map((event) => event.event_id as string));
  }, 240_000);

  it('counts the peer\'s server, its senders and its events, and the room with its redaction', async () => {
    const peerName = peer!.serverName;
    const timeline = await allEvents(alice, roomId);
    // Bob: join, text, notice, reaction, thread reply, the doomed message and its redaction; Carol: join, text.
    expect(remoteEventIds).toHaveLength(9);
    const range = `from=${startedAt - DAY}&to=${Date.now() + DAY}`;

    await expect.poll(async () => (await ask(`/top/servers?${range}`)).rows, SETTLED).toEqual(expect.arrayContaining([
      { key: peerName, events: 9, senders: 2, rooms: 1 },
      { key: strata!.serverName, events: timeline.length - 9, senders: 1, rooms: 1 },
    ]));
    await expect.poll(() => ask(`/rooms/${e(roomId)}?${range}`), SETTLED).toMatchObject({
      room_id: roomId, events: timeline.length, senders: 3, redacted: 1, soft_failed: 0, rejected: 0,
    });
    const room = await ask(`/rooms/${e(roomId)}?${range}`);
    expect(room.types).toEqual(expect.arrayContaining([{ key: 'm.reaction', events: 1 }, { key: 'm.room.redaction', events: 1 }]));
    expect(room.top_senders).toEqual(expect.arrayContaining([{ key: bob.userId, events: 7 }, { key: carol.userId, events: 2 }]));

    const hour = 3_600_000;
    const from = startedAt - (startedAt % hour);
    const to = Date.now() - (Date.now() % hour) + hour;
    await expect.poll(async () => {
      const series = await ask(`/timeseries?bucket=hour&from=${from}&to=${to}&group_by=server`);
      return Object.fromEntries((series.series as { key: string; total: number }[]).map((one) => [one.key, one.total]));
    }, SETTLED).toEqual({ [peerName]: 9, [strata!.serverName]: timeline.length - 9 });

    await expect.poll(async () => (await ask(`/top/msgtypes?${range}`)).rows, SETTLED).toEqual(expect.arrayContaining([
      // Bob's text, thread reply and doomed message, Carol's text, Alice's two.
      { key: 'm.text', events: 6, senders: 3, rooms: 1 },
      { key: 'm.notice', events: 1, senders: 1, rooms: 1 },
    ]));

    const today = Date.now() - (Date.now() % DAY);
    await expect.poll(async () => ((await ask(`/active_users?from=${today}&to=${today + DAY}`)).daily as { ts: number }[]).find((day) => day.ts === today), SETTLED)
      .toEqual({ ts: today, users: 3, local: 1, bridged: 0, federated: 2 });
  });

  it('exports the peer\'s rows as federated', async () => {
    const reply = await analytics('GET', `/export?dataset=events&format=json&room_id=${e(roomId)}`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-disposition')).toMatch(/^attachment/);
    const rows = JSON.parse(reply.text) as { event_id: string; sender: string; sender_server: string; origin: string; status: string }[];
    const remote = rows.filter((row) => row.sender_server === peer!.serverName);
    expect(remote.map((row) => row.event_id).sort()).toEqual([...remoteEventIds].sort());
    for (const row of remote) expect(row).toMatchObject({ origin: 'federated', status: 'accepted' });
    expect(new Set(remote.map((row) => row.sender))).toEqual(new Set([bob.userId, carol.userId]));
    for (const row of rows.filter((one) => one.sender_server === strata!.serverName)) expect(row.origin).toBe('local');
    expect(reply.text).not.toContain(MARKER);
  });

  it('stores none of the words anyone wrote, in any String column of any analytics table', async () => {
    /** Rows of `table` with `needle` in any String column, and how many String columns were searched. */
    const scan = async (table: string, needle: string): Promise<{ hits: number; columns: number }> => {
      const strings = (await sql(`SELECT * FROM ${table} LIMIT 0`)).columns.filter((column) => column.type === 'String').map((column) => column.name);
      if (strings.length === 0) return { hits: 0, columns: 0 };
      const where = strings.map((name) => `positionCaseInsensitive(${name}, '${needle}') > 0`).join(' OR ');
      const [[hits]] = (await sql(`SELECT count() FROM ${table} WHERE ${where}`)).rows as [[number | string]];
      return { hits: Number(hits), columns: strings.length };
    };
    let searched = 0;
    for (const table of ANALYTICS_TABLES) {
      const { hits, columns } = await scan(table, MARKER);
      expect(hits, table).toBe(0);
      searched += columns;
    }
    expect(searched).toBeGreaterThan(20);
    // The same scan finds what is stored: the peer's users, by their localparts.
    expect((await scan('analytics_events', bob.userId.slice(1, bob.userId.indexOf(':')))).hits).toBe(7);
    expect((await scan('analytics_sender_daily', carol.userId.slice(1, carol.userId.indexOf(':')))).hits).toBeGreaterThan(0);
  });
});
