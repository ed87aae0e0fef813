// throwaway: per-request server CPU for a few request kinds (not committed)
import { readFileSync } from 'node:fs';
import { registerWithSharedSecret, createRoom, uploadFilter, sync, sendMessage, request, type HttpOptions } from './cs/matrixClient.ts';
const pid = Number(process.env.SP);
const ticks = () => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return Number(f[11]) + Number(f[12]); };
const http: HttpOptions = { baseUrl: 'http://127.0.0.1:8118', timeoutMs: 30000, signal: new AbortController().signal };
const u = `m${Date.now() % 1e7}`;
const s = await registerWithSharedSecret(http, 's', u, 'pw-pw-pw-1');
const room = await createRoom(http, s, 'r');
const filter = await uploadFilter(http, s, { room: { timeline: { limit: 1000, types: ['m.room.message'] }, state: { types: [] }, ephemeral: { types: [] }, account_data: { types: [] } }, presence: { types: [] }, account_data: { types: [] } });
const first = await sync(http, s, { filter, timeoutMs: 0 });
const since = first.next_batch as string;
const only = process.env.PHASES?.split(',');
const phase = async (name: string, conc: number, secs: number, call: (i: number) => Promise<unknown>) => {
  if (only && !only.some((o) => name.startsWith(o))) return;
  let n = 0; const end = Date.now() + secs * 1000; const t0 = ticks();
  await Promise.all(Array.from({ length: conc }, async (_, k) => { while (Date.now() < end) { await call(n++ * 100 + k); } }));
  const cpu = (ticks() - t0) * 10; // ms
  console.log(`${name.padEnd(22)} ${(n / secs).toFixed(0).padStart(6)}/s  server CPU ${(cpu * 1000 / n).toFixed(0)} µs/request`);
};
const secs = Number(process.env.SECS ?? 8);
await phase('versions', 4, secs, () => request(http, 'GET', '/_matrix/client/versions', {}));
await phase('whoami', 4, secs, () => request(http, 'GET', '/_matrix/client/v3/account/whoami', { token: s.accessToken }));
await phase('sync empty timeout=0', 4, secs, () => sync(http, s, { since, filter, timeoutMs: 0 }));
await phase('send (no listeners)', 4, secs, (i) => sendMessage(http, s, room, `t${i}`, { msgtype: 'm.text', body: `hello ${i}` }));
process.exit(0);
