import { connect } from 'node:net';
import { afterAll, beforeAll, it } from 'vitest';
import { MatrixClient, e, startTestServer, type TestServer, type UserClient } from '../harness/index.ts';

let server: TestServer; let client: MatrixClient; let alice: UserClient;
beforeAll(async () => { server = await startTestServer({ mode: 'embedded' }); client = new MatrixClient(server.url); alice = client.as(await client.register('alice')); });
afterAll(() => server?.stop());

const raw = (text: string): Promise<string> => new Promise((resolve) => {
  const url = new URL(server.url); const s = connect(Number(url.port), url.hostname); let out = '';
  s.on('data', (d) => { out += d.toString(); }); s.on('close', () => resolve(out)); s.on('error', () => resolve(out + '[error]'));
  s.write(text); setTimeout(() => s.end(), 1500);
});

it('probe', async () => {
  const roomId = await alice.createRoom({});
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const show = async (label: string, method: string, path: string, opts: { json?: unknown; raw?: string }) => {
    const r = await alice.request(method, path, opts); console.log(label, r.status, JSON.stringify(r.body).slice(0, 150));
  };
  await show('deep account', 'PUT', `/user/${e(alice.userId)}/account_data/x`, { raw: `{"a":${deep(30000)}}` });
  await show('deep msg 6000', 'PUT', `/rooms/${e(roomId)}/send/m.room.message/d1`, { raw: `{"a":${deep(6000)}}` });
  await show('surrogate account', 'PUT', `/user/${e(alice.userId)}/account_data/x`, { raw: `{"a":"\\ud800"}` });
  await show('surrogate msg', 'PUT', `/rooms/${e(roomId)}/send/m.room.message/d2`, { raw: `{"a":"\\ud800"}` });
  await show('1e400 account', 'PUT', `/user/${e(alice.userId)}/account_data/x`, { raw: `{"a":1e400}` });
  await show('float msg', 'PUT', `/rooms/${e(roomId)}/send/m.room.message/d3`, { raw: `{"a":1.5}` });
  await show('surrogate path', 'PUT', `/user/${e(alice.userId)}/account_data/x%ED%A0%80`, { json: {} });
  await show('long type', 'PUT', `/user/${e(alice.userId)}/account_data/${'x'.repeat(3000)}`, { json: {} });
  const token = alice.session.accessToken; const url = new URL(server.url);
  const body = 'x'.repeat(100000);
  console.log('desync', (await raw(`DELETE /_matrix/client/v3/devices/${alice.session.deviceId} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n\r\n`)).replace(/\r\n/g, ' | ').slice(0, 1500));
  const small = 'GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n\r\n';
  console.log('desync small', (await raw(`DELETE /_matrix/client/v3/devices/${alice.session.deviceId} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${small.length}\r\n\r\n${small}`)).replace(/\r\n/g, ' | ').slice(0, 1500));
  await show('long txn', 'PUT', `/rooms/${e(roomId)}/send/m.room.message/${'t'.repeat(3000)}`, { json: { body: 'x' } });
  await show('after', 'PUT', `/rooms/${e(roomId)}/send/m.room.message/ok`, { json: { body: 'x' } });
}, 60000);
