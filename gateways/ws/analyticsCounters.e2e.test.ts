// The analytics counters WebSocket (GET /_strata/ws/v1/analytics) against the whole server with
// ClickHouse in both deployments, and the answer without a warehouse: live counters of what was
// sent, one shared poll for every socket, refusals as close codes a browser can read, bounds.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { createClickHouse } from '../../infra/clickhouse/index.ts';
import { chIdentifier } from '../../projections/runtime/index.ts';
import { MatrixClient, e, freePort, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../../test/harness/index.ts';
import { ANALYTICS_COUNTERS_PATH } from './index.ts';

interface Counters extends Body {
  type: string; ts: number; events_last_minute: number; events_last_hour: number; events_today: number;
  senders_today: number; rooms_today: number; by_type_last_hour: Record<string, number>;
}

interface Stream {
  readonly messages: Counters[];
  readonly closed: Promise<{ code: number; reason: string }>;
  waitFor(until: (latest: Counters) => boolean, timeoutMs?: number): Promise<Counters>;
  close(): void;
}

/** Opens a counters socket; refused ones open too (then close with their code). */
const openStream = (base: string, token: string | undefined): Promise<Stream> => new Promise((resolve, reject) => {
  const query = token === undefined ? '' : `?access_token=${e(token)}`;
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}${ANALYTICS_COUNTERS_PATH}${query}`);
  const messages: Counters[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer) => {
    messages.push(JSON.parse(data.toString()) as Counters);
    for (const waiter of waiters) waiter();
  });
  const closed = new Promise<{ code: number; reason: string }>((done) => {
    ws.on('close', (code, reason) => done({ code, reason: reason.toString() }));
  });
  ws.once('error', reject);
  ws.once('open', () => resolve({
    messages, closed, close: () => ws.close(),
    waitFor: (until, timeoutMs = 20_000) => new Promise((done, fail) => {
      const check = (): void => {
        const latest = messages.at(-1);
        if (latest === undefined || !until(latest)) return;
        waiters.delete(check);
        clearTimeout(timer);
        done(latest);
      };
      const timer = setTimeout(() => { waiters.delete(check); fail(new Error(`timed out; last: ${JSON.stringify(messages.at(-1))}`)); }, timeoutMs);
      waiters.add(check);
      check();
    }),
  }));
});

const ANALYST = 'ana';
const OTHER_ANALYST = 'bea';
const analystsOf = (serverName: string): string => [ANALYST, OTHER_ANALYST].map((name) => `@${name}:${serverName}`).join(',');

describe.each<ServerMode>(['embedded', 'distributed'])('analytics counters WebSocket with a warehouse (%s)', (mode) => {
  const database = `strata_counters_e2e_${mode}_${process.pid}_${Date.now()}`;
  let server: TestServer;
  let client: MatrixClient;
  let ana: UserClient;
  let bea: UserClient;
  let carol: UserClient;
  let metricsUrl: string;
  const metric = async (sample: string): Promise<number> => {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
    return line === undefined ? 0 : Number(line.slice(sample.length + 1));
  };

  beforeAll(async () => {
    const services = inject('strataTestServices');
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    server = await startTestServer({
      mode,
      config: {
        STRATA_CLICKHOUSE_URL: services.clickhouseUrl, STRATA_CLICKHOUSE_DATABASE: database,
        STRATA_ANALYTICS_ANALYSTS: analystsOf('strata.test'), STRATA_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      },
      analyticsSockets: { maxSocketsPerUser: 2, maxSockets: 3, tokenCheckIntervalMs: 300 },
    });
    client = new MatrixClient(server.url);
    ana = client.as(await client.register(ANALYST));
    bea = client.as(await client.register(OTHER_ANALYST));
    carol = client.as(await client.register('carol'));
  });
  afterAll(async () => {
    await server?.stop();
    const services = inject('strataTestServices');
    const ch = await createClickHouse({ url: services.clickhouseUrl, database });
    await ch.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
    await ch.close();
  });

  it('streams the counters of what was sent, at once and every 2 s, from one poll for all sockets', async () => {
    const first = await openStream(server.url, ana.session.accessToken);
    const second = await openStream(server.url, bea.session.accessToken);
    const opening = await first.waitFor(() => true, 5_000);
    expect(opening).toMatchObject({ type: 'counters', events_last_minute: 0, events_today: 0, senders_today: 0, rooms_today: 0, by_type_last_hour: {} });
    expect(Math.abs(opening.ts - Date.now())).toBeLessThan(5_000);

    const roomId = await ana.createRoom({ preset: 'public_chat' });
    await carol.post(`/join/${e(roomId)}`, {});
    await ana.send(roomId, 'one');
    await carol.put(`/rooms/${e(roomId)}/send/m.room.message/n1`, { msgtype: 'm.notice', body: 'two' });
    await carol.put(`/rooms/${e(roomId)}/send/m.room.message/e1`, { msgtype: 'm.emote', body: 'three' });
    const members = (await ana.get(`/rooms/${e(roomId)}/members`)).chunk as Body[];
    const state = (await ana.get(`/rooms/${e(roomId)}/state`)) as unknown as Body[];
    // Every event of the room is accepted: its state (the joins are its member events) and 3 messages.
    const expected = state.length + 3;
    expect(members).toHaveLength(2);

    for (const stream of [first, second]) {
      const latest = await stream.waitFor((counters) => counters.events_today === expected);
      expect(latest).toMatchObject({
        events_last_minute: expected, events_last_hour: expected, senders_today: 2, rooms_today: 1,
      });
      expect(latest.by_type_last_hour['m.room.message']).toBe(3);
      expect(Object.values(latest.by_type_last_hour).reduce((sum, n) => sum + n, 0)).toBe(expected);
    }
    // Messages come every 2 s, and both sockets read the same polls.
    const ts = first.messages.map((message) => message.ts);
    for (let i = 1; i < ts.length; i += 1) expect(ts[i]! - ts[i - 1]!).toBeGreaterThanOrEqual(1_500);
    const polls = await metric('strata_analytics_counter_polls_total{outcome="ok"}');
    await new Promise((resolve) => setTimeout(resolve, 4_200));
    const after = await metric('strata_analytics_counter_polls_total{outcome="ok"}');
    expect(after - polls).toBeGreaterThanOrEqual(1);
    expect(after - polls).toBeLessThanOrEqual(3);
    expect(await metric('strata_websockets_open{stream="analytics_counters"}')).toBe(2);
    first.close();
    second.close();
    await Promise.all([first.closed, second.closed]);
  });

  it('closes with 4401 for a missing, bad or revoked token and 4403 for a user who is no analyst', async () => {
    expect((await (await openStream(server.url, undefined)).closed)).toEqual({ code: 4401, reason: 'M_MISSING_TOKEN: Missing access token' });
    expect((await (await openStream(server.url, 'not-a-token')).closed).code).toBe(4401);
    const refused = await openStream(server.url, carol.session.accessToken);
    expect(await refused.closed).toEqual({ code: 4403, reason: 'M_FORBIDDEN: Analytics are for server admins and analysts' });
    expect(refused.messages).toEqual([]);

    const session = await client.login(ANALYST);
    const stream = await openStream(server.url, session.accessToken);
    await stream.waitFor(() => true, 5_000);
    await client.ok('POST', '/logout', { token: session.accessToken, json: {} });
    const closed = await stream.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/^M_UNKNOWN_TOKEN/);
  });

  it('bounds sockets per user and in all (4429), and closes the rest with 1001 at shutdown', async () => {
    const mine = [await openStream(server.url, ana.session.accessToken), await openStream(server.url, ana.session.accessToken)];
    const third = await (await openStream(server.url, ana.session.accessToken)).closed;
    expect(third).toEqual({ code: 4429, reason: 'M_LIMIT_EXCEEDED: At most 2 analytics sockets per user' });
    const beas = await openStream(server.url, bea.session.accessToken);
    await beas.waitFor(() => true, 5_000);
    expect((await (await openStream(server.url, bea.session.accessToken)).closed))
      .toEqual({ code: 4429, reason: 'M_LIMIT_EXCEEDED: At most 3 analytics sockets at once' });
    const closes = [...mine, beas].map((stream) => stream.closed);
    await server.stop();
    for (const closed of await Promise.all(closes)) expect(closed).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});

describe('analytics counters WebSocket without a warehouse (embedded)', () => {
  let server: TestServer;
  let client: MatrixClient;
  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded', config: { STRATA_ANALYTICS_ANALYSTS: analystsOf('strata.test') } });
    client = new MatrixClient(server.url);
  });
  afterAll(async () => { await server?.stop(); });

  it('tells analysts (only) that analytics need ClickHouse: 4501', async () => {
    const analyst = await client.register(ANALYST);
    expect(await (await openStream(server.url, analyst.accessToken)).closed)
      .toEqual({ code: 4501, reason: 'M_UNKNOWN: Analytics needs ClickHouse: set STRATA_CLICKHOUSE_URL' });
    const other = await client.register('dave');
    expect((await (await openStream(server.url, other.accessToken)).closed).code).toBe(4403);
  });
});
