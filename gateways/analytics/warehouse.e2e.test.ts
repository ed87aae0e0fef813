// The warehouse through a running server: a bridge's puppet and a local user talk over HTTP; the
// server's own analytics projection (with the configured application services) writes rows whose
// origin tells them apart, ClickHouse's views roll them up, and no word anyone wrote is stored.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClickHouse, type ClickHouse } from '../../infra/clickhouse/index.ts';
import { chIdentifier, chString } from '../../projections/runtime/index.ts';
import { MatrixClient, e, startTestServer, waitForWarehouseCommitted, type ServerMode, type TestServer, type UserClient } from '../../test/harness/index.ts';

const MARKER = 'WAREHOUSE-E2E-MARKER';
const AS_TOKEN = 'as_wh';
const REGISTRATION = `id: wh
url: null
as_token: ${AS_TOKEN}
hs_token: hs_wh
sender_localpart: whbot
namespaces:
  users:
    - regex: "@wh_.*"
      exclusive: true
`;

describe.each<ServerMode>(['embedded', 'distributed'])('analytics warehouse over a running server (%s)', (mode) => {
  const database = `strata_warehouse_e2e_${mode}_${process.pid}_${Date.now()}`;
  let dir: string;
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let ch: ClickHouse;

  beforeAll(async () => {
    const services = inject('strataTestServices');
    dir = await mkdtemp(path.join(tmpdir(), 'strata-warehouse-e2e-'));
    const file = path.join(dir, 'wh.yaml');
    await writeFile(file, REGISTRATION);
    server = await startTestServer({
      mode,
      config: { STRATA_CLICKHOUSE_URL: services.clickhouseUrl, STRATA_CLICKHOUSE_DATABASE: database },
      file: { app_service_config_files: [file] },
    });
    client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
    ch = await createClickHouse({ url: services.clickhouseUrl, database });
  });
  afterAll(async () => {
    await server?.stop();
    await ch?.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
    await ch?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('records local and bridged senders, relations, encryption and redactions, rolled up, without a word of content', async () => {
    const puppet = `@wh_bob:${server.serverName}`;
    await client.ok('POST', '/register', { token: AS_TOKEN, json: { type: 'm.login.application_service', username: 'wh_bob' } });
    const asPuppet = { token: AS_TOKEN, query: { user_id: puppet } };
    const roomId = await alice.createRoom({ preset: 'public_chat', name: `${MARKER} name`, topic: `${MARKER} topic` });
    await client.ok('POST', `/join/${e(roomId)}`, { ...asPuppet, json: {} });
    const bridged = (await client.ok('PUT', `/rooms/${e(roomId)}/send/m.room.message/p1`, {
      ...asPuppet, json: { msgtype: 'm.text', body: `${MARKER} bridged` },
    })).event_id as string;
    const root = await alice.send(roomId, `${MARKER} root`);
    const reply = (await alice.put(`/rooms/${e(roomId)}/send/m.room.message/r1`, {
      msgtype: 'm.notice', body: `${MARKER} reply`, 'm.relates_to': { rel_type: 'm.thread', event_id: root },
    })).event_id as string;
    const encrypted = (await alice.put(`/rooms/${e(roomId)}/send/m.room.encrypted/c1`, {
      algorithm: 'm.megolm.v1.aes-sha2', ciphertext: `${MARKER}cipher`, session_id: 's', sender_key: 'k', device_id: 'D',
    })).event_id as string;
    const redaction = (await alice.put(`/rooms/${e(roomId)}/redact/${e(bridged)}/x1`, { reason: `${MARKER} why` })).event_id as string;

    // One room is one partition, in order: once the redaction's row is in, every earlier one is.
    const room = chString(roomId);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [row] = await ch.query<{ n: string }>(`SELECT count() AS n FROM analytics_redactions FINAL WHERE room_id = ${room}`);
      if (Number(row!.n) === 1 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The rollups are filled just after the rows appear: read them once the projection committed past the rows.
    await waitForWarehouseCommitted(ch);
    const rows = await ch.query<Record<string, string | number>>(`SELECT * FROM analytics_events FINAL WHERE room_id = ${room}`);
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    const version = (await alice.get(`/rooms/${e(roomId)}/state/m.room.create`)).room_version;
    expect(byId.get(bridged)).toMatchObject({ sender: puppet, origin: 'bridged', msgtype: 'm.text', room_version: version, status: 'accepted' });
    expect(byId.get(root)).toMatchObject({ sender: alice.userId, origin: 'local', sender_server: server.serverName });
    expect(byId.get(reply)).toMatchObject({ msgtype: 'm.notice', relation_type: 'm.thread', thread_root: root });
    expect(byId.get(encrypted)).toMatchObject({ encrypted: 1, event_type: 'm.room.encrypted' });
    expect(byId.get(redaction)).toMatchObject({ event_type: 'm.room.redaction' });
    const [target] = await ch.query<{ redacts_event_id: string }>(`SELECT redacts_event_id FROM analytics_redactions FINAL WHERE room_id = ${room}`);
    expect(target).toEqual({ redacts_event_id: bridged });

    const merged = async (sql: string): Promise<Record<string, number>> => Object.fromEntries(
      (await ch.query<{ k: string; n: string }>(sql)).map((row) => [row.k, Number(row.n)]));
    expect(await merged(`SELECT origin AS k, uniqExactMerge(users) AS n FROM analytics_active_users_daily GROUP BY origin`))
      .toEqual({ local: 1, bridged: 1 });
    expect(await merged(`SELECT room_id AS k, uniqExactMerge(events) AS n FROM analytics_room_daily
      WHERE status = 'accepted' GROUP BY room_id`)).toEqual({ [roomId]: rows.length });
    expect(await merged(`SELECT room_id AS k, uniqExactMerge(senders) AS n FROM analytics_room_hourly GROUP BY room_id`))
      .toEqual({ [roomId]: 2 });
    expect(await merged(`SELECT room_id AS k, uniqExactMerge(redacted) AS n FROM analytics_room_redactions_daily GROUP BY room_id`))
      .toEqual({ [roomId]: 1 });

    const tables = await ch.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()');
    expect(tables.length).toBeGreaterThanOrEqual(11);
    for (const { name } of tables) {
      for (const row of await ch.query<Record<string, unknown>>(`SELECT * FROM ${chIdentifier(name)}`)) {
        for (const value of Object.values(row)) expect(String(value), name).not.toContain(MARKER);
      }
    }
  });
});
