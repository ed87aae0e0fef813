// The analyst API through a running server (both modes): analysts named in STRATA_ANALYTICS_ANALYSTS
// and server admins read what people just sent; everyone else gets 403 on every endpoint; the
// server's own projection fills the warehouse the endpoints read, and exports stream through the
// real HTTP stack.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClickHouse, type ClickHouse } from '../../infra/clickhouse/index.ts';
import { chIdentifier, chString } from '../../projections/runtime/index.ts';
import { MatrixClient, e, startTestServer, waitForWarehouseCommitted, type ServerMode, type TestServer, type UserClient } from '../../test/harness/index.ts';

const SECRET = 'analyst-e2e-secret';
const HOUR = 3_600_000;

describe.each<ServerMode>(['embedded', 'distributed'])('analyst API over a running server (%s)', (mode) => {
  const database = `strata_analyst_e2e_${mode}_${process.pid}_${Date.now()}`;
  let server: TestServer;
  let client: MatrixClient;
  let ana: UserClient;
  let admin: UserClient;
  let carol: UserClient;
  let ch: ClickHouse;
  let roomId: string;
  let sentAt: number;

  const call = async (who: UserClient, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}/_strata/analytics/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${who.session.accessToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
  const json = async (who: UserClient, path: string) => {
    const reply = await call(who, 'GET', path);
    return { status: reply.status, body: JSON.parse(reply.text) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const services = inject('strataTestServices');
    server = await startTestServer({
      mode,
      config: {
        STRATA_CLICKHOUSE_URL: services.clickhouseUrl, STRATA_CLICKHOUSE_DATABASE: database,
        STRATA_ANALYTICS_ANALYSTS: '@ana:strata.test', STRATA_REGISTRATION_SHARED_SECRET: SECRET,
      },
    });
    client = new MatrixClient(server.url);
    ana = client.as(await client.register('ana'));
    carol = client.as(await client.register('carol'));
    admin = client.as(await client.registerWithSharedSecret(SECRET, 'boss', { admin: true }));
    ch = await createClickHouse({ url: services.clickhouseUrl, database });

    sentAt = Date.now();
    roomId = await carol.createRoom({ preset: 'public_chat' });
    for (let i = 0; i < 3; i++) await carol.send(roomId, `hello ${i}`);
    await carol.put(`/rooms/${e(roomId)}/send/m.room.message/n1`, { msgtype: 'm.notice', body: 'notice' });
    // The room's events reach the warehouse in order: once the notice is in, all are.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await ch.query<{ n: number }>(`SELECT count() AS n FROM analytics_events FINAL WHERE room_id = ${chString(roomId)} AND msgtype = 'm.notice'`);
      if (Number(row?.n) === 1) break;
      if (Date.now() > deadline) throw new Error('the notice did not reach the warehouse within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Its rollups are filled just after it appears: every read below sees them once this returns.
    await waitForWarehouseCommitted(ch);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await ch?.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
    await ch?.close();
  });

  it('answers named analysts and admins, and nobody else', async () => {
    expect(await json(ana, '/whoami')).toEqual({ status: 200, body: { user_id: '@ana:strata.test', analyst: true, warehouse: true } });
    expect((await json(admin, '/whoami')).status).toBe(200);
    for (const path of ['/whoami', '/timeseries?bucket=hour&from=0&to=1', '/top/rooms', '/active_users', `/rooms/${e(roomId)}`,
      `/users/${e(carol.userId)}`, '/export?dataset=events&format=csv', '/events/counts?group_by=type']) {
      expect(await json(carol, path), path).toEqual({ status: 403, body: { errcode: 'M_FORBIDDEN', error: 'Analytics are for server admins and analysts' } });
    }
    expect((await call(carol, 'POST', '/sql', { query: 'SELECT 1' })).status).toBe(403);
  });

  it('counts what was just sent', async () => {
    // ClickHouse fills the rollups' views just after the row itself: ask until they caught up.
    const eventually = { timeout: 30_000, interval: 200 };
    const from = sentAt - (sentAt % HOUR);
    const to = from + 2 * HOUR;
    const totals = async () => {
      const series = await json(ana, `/timeseries?bucket=hour&from=${from}&to=${to}&group_by=msgtype&room_id=${e(roomId)}`);
      return Object.fromEntries((series.body.series as { key: string; total: number }[]).map((s) => [s.key, s.total]));
    };
    await expect.poll(totals, eventually).toEqual({ 'm.text': 3, 'm.notice': 1 });
    const room = await json(admin, `/rooms/${e(roomId)}`);
    expect(room.body).toMatchObject({ room_id: roomId, senders: 1, soft_failed: 0, rejected: 0, top_senders: [{ key: carol.userId }] });
    const user = await json(ana, `/users/${e(carol.userId)}`);
    expect(user.body).toMatchObject({ rooms: 1, active_days: 1, top_rooms: [{ key: roomId, events: room.body.events }] });
    await expect.poll(async () => (await json(ana, '/top/senders')).body.rows, eventually)
      .toEqual([{ key: carol.userId, events: room.body.events, senders: 1, rooms: 1 }]);
    await expect.poll(async () => ((await json(ana, '/active_users')).body.daily as unknown[]).at(-1), eventually)
      .toMatchObject({ users: 1, local: 1, bridged: 0, federated: 0 });
  });

  it('streams an export and answers SQL', async () => {
    const csv = await call(ana, 'GET', `/export?dataset=events&format=csv&room_id=${e(roomId)}&type=m.room.message`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="strata-events.csv"');
    const lines = csv.text.split('\r\n').filter((line) => line !== '');
    expect(lines).toHaveLength(5);
    expect(csv.text).not.toContain('hello');
    const answer = await call(ana, 'POST', '/sql', { query: `SELECT msgtype, count() AS n FROM analytics_events FINAL WHERE room_id = ${chString(roomId)} AND msgtype != '' GROUP BY msgtype ORDER BY msgtype` });
    expect(JSON.parse(answer.text)).toMatchObject({ rows: [['m.notice', 1], ['m.text', 3]], truncated: false });
    const refused = await call(ana, 'POST', '/sql', { query: 'SELECT * FROM system.users' });
    expect(refused.status).toBe(400);
  });
});
