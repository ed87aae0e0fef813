// The appservice sender as the server runs it, over HTTP in both deployments: a bridge whose
// puppet is in a room gets the room's events as transactions, with typing, receipts and to-device
// messages since it opted in to ephemeral data; one that did not opt in gets events alone; the
// sender shows in /health. The behaviours in depth (order, retries, restarts, isolation) are in
// sender.int.test.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e, MatrixClient, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../../../test/harness/index.ts';

interface Transaction { readonly bridge: string; readonly txnId: string; readonly body: Body }

/** Both bridges on one listener: the url's first path segment names the bridge. */
const startBridges = async (): Promise<{ server: Server; url: string; transactions: Transaction[] }> => {
  const transactions: Transaction[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const [bridge, ...rest] = new URL(req.url ?? '/', 'http://bridge').pathname.split('/').slice(1);
      const route = `/${rest.join('/')}`;
      if (req.headers.authorization !== `Bearer hs_${bridge}` || req.method !== 'PUT' || !route.startsWith('/_matrix/app/v1/transactions/')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errcode":"M_UNRECOGNIZED"}');
        return;
      }
      transactions.push({ bridge: bridge!, txnId: decodeURIComponent(route.split('/').at(-1)!), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, transactions };
};

describe.each<ServerMode>(['embedded', 'distributed'])('appservice sender (%s)', (mode) => {
  let server: TestServer;
  let bridges: Awaited<ReturnType<typeof startBridges>>;
  let dir: string;
  let client: MatrixClient;
  let alice: UserClient;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'strata-assender-'));
    bridges = await startBridges();
    const files: string[] = [];
    for (const [id, ephemeral] of [['eph', true], ['plain', false]] as const) {
      const file = path.join(dir, `${id}.yaml`);
      await writeFile(file, toYaml({
        id, url: `${bridges.url}/${id}`, as_token: `as_${id}`, hs_token: `hs_${id}`, sender_localpart: `${id}bot`,
        namespaces: { users: [{ regex: `@${id}_.*`, exclusive: true }], aliases: [], rooms: [] }, receive_ephemeral: ephemeral,
      }));
      files.push(file);
    }
    server = await startTestServer({ mode, file: { app_service_config_files: files } });
    client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => bridges?.server.close(resolve));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const of = (bridge: string) => bridges.transactions.filter((txn) => txn.bridge === bridge);
  const events = (bridge: string) => of(bridge).flatMap((txn) => txn.body.events as Body[]);
  const ephemeral = (bridge: string) => of(bridge).flatMap((txn) => (txn.body.ephemeral as Body[] | undefined) ?? []);
  const until = async (what: string, condition: () => boolean): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('pushes a room\'s events to the bridges whose puppets are in it, and ephemeral data to the one that opted in', async () => {
    const puppets: Record<string, string> = {};
    const devices: Record<string, string> = {};
    for (const id of ['eph', 'plain']) {
      const registered = await client.ok('POST', '/register', { token: `as_${id}`, json: { type: 'm.login.application_service', username: `${id}_bob` } });
      puppets[id] = registered.user_id as string;
      devices[id] = registered.device_id as string;
    }
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    for (const id of ['eph', 'plain']) {
      await client.ok('POST', `/join/${e(roomId)}`, { token: `as_${id}`, query: { user_id: puppets[id]! }, json: {} });
    }
    const eventId = await alice.send(roomId, 'hello bridges');
    await until('both bridges have the message', () => events('eph').some((event) => event.event_id === eventId)
      && events('plain').some((event) => event.event_id === eventId));
    const message = events('eph').find((event) => event.event_id === eventId)!;
    expect(message).toMatchObject({ room_id: roomId, sender: alice.userId, type: 'm.room.message', content: { body: 'hello bridges' } });
    expect(typeof (message.unsigned as Body).age).toBe('number');
    // The puppet's own join came first; the room's creation, before any puppet was in it, did not go.
    const plainEvents = events('plain');
    expect(plainEvents[0]).toMatchObject({ type: 'm.room.member', state_key: puppets.plain, content: { membership: 'join' } });
    expect(plainEvents.some((event) => event.type === 'm.room.create')).toBe(false);

    await alice.put(`/rooms/${e(roomId)}/typing/${e(alice.userId)}`, { typing: true, timeout: 30_000 });
    await alice.post(`/rooms/${e(roomId)}/receipt/m.read/${e(eventId)}`, {});
    await alice.put(`/sendToDevice/m.test/${e('td-1')}`, { messages: { [puppets.eph!]: { '*': { hello: 1 } } } });
    await until('typing and the receipt reached the bridge that opted in', () => {
      const types = ephemeral('eph').map((event) => event.type);
      return types.includes('m.typing') && types.includes('m.receipt');
    });
    expect(ephemeral('eph').find((event) => event.type === 'm.typing')).toEqual({ type: 'm.typing', room_id: roomId, content: { user_ids: [alice.userId] } });
    expect(ephemeral('eph').find((event) => event.type === 'm.receipt')).toMatchObject({
      type: 'm.receipt', room_id: roomId, content: { [eventId]: { 'm.read': { [alice.userId]: { ts: expect.any(Number) as unknown } } } },
    });
    await until('the to-device message reached it', () => of('eph').some((txn) => ((txn.body['de.sorunome.msc2409.to_device'] as Body[]) ?? []).length > 0));
    expect(of('eph').flatMap((txn) => txn.body['de.sorunome.msc2409.to_device'] as Body[])).toEqual([
      { type: 'm.test', sender: alice.userId, content: { hello: 1 }, to_user_id: puppets.eph, to_device_id: devices.eph },
    ]);
    // The other bridge did not opt in: events alone.
    for (const txn of of('plain')) expect(Object.keys(txn.body)).toEqual(['events']);
    // Transaction ids count up per bridge.
    const ids = of('eph').map((txn) => Number(txn.txnId));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('lists the sender among the consumers in /health', async () => {
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    const body = await response.json() as { consumers: Record<string, { state: string }> };
    expect(body.consumers.appservice_sender).toMatchObject({ state: 'running' });
  });
});
