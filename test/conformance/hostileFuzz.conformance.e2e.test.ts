// A schema-driven fuzz of the client-server API: about 3,000 requests built from the spec's own
// OpenAPI (every operation, round robin) with hostile values planted (fuzz.ts), all on one keep-alive
// connection. No answer may be a 5xx, every 4xx is a Matrix error, the connection never desyncs
// (a whoami between batches answers as itself), and afterwards every room still takes writes.
// STRATA_FUZZ_SEED replays a run; the seed is in the failure message.
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, timelineOf, type TestServer, type UserClient } from '../harness/index.ts';
import { roomOnEveryPartition } from '../e2e/partitionCanaries.ts';
import { RequestFuzzer, type FuzzWorld } from './fuzz.ts';
import { seededRandom } from '../harness/seededRandom.ts';
import { ClientServerSpec, type Operation } from './openapi.ts';

const REQUESTS = 3_000;
const TIME_BUDGET_MS = 50_000;
/** Requests between two checks that the connection still answers as itself. */
const CHECK_EVERY = 50;
/** Operations that would end the fuzzing user's session or membership and so the fuzz itself. */
const SPARED = /\/(?:logout(?:\/all)?|account\/deactivate|account\/password|refresh|rooms\/\{roomId\}\/(?:leave|forget))$/;
const seed = Number(process.env.STRATA_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface Answer {
  readonly status: number;
  readonly text: string;
}

describe('schema-driven fuzz of the client-server API', () => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let world: FuzzWorld;
  const canaries: string[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded' });
    const client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
    const roomId = await alice.createRoom({ preset: 'public_chat', room_alias_name: 'fuzz' });
    await bob.post(`/join/${e(roomId)}`);
    const eventId = await alice.send(roomId, 'fuzz me');
    world = {
      userId: alice.userId, otherUserId: bob.userId, deviceId: alice.session.deviceId, roomId, eventId,
      roomAlias: `#fuzz:${server.serverName}`, serverName: server.serverName,
    };
    // Rooms alice is not in, one on each partition: they must take writes afterwards.
    canaries.push(...await roomOnEveryPartition(bob));
  });
  afterAll(async () => {
    agent.destroy();
    await server?.stop();
  });

  const send = (method: string, path: string, body: string | undefined): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { authorization: `Bearer ${alice.session.accessToken}` };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = request(`${server.url}${path}`, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  /**
   * Why an answer is wrong, or undefined: no 5xx, and a 4xx is a JSON Matrix error. The 5xx that
   * are no fault: /publicRooms of another server, whose list it cannot fetch, and a join or knock
   * through another server (502, as Synapse answers an unreachable server; the fuzzed names are).
   */
  const wrongAnswer = (path: string, answer: Answer): string | undefined => {
    const remoteList = answer.status === 502 && /\/publicRooms\?(?:.*&)?server=/.test(path) && !path.includes(`server=${e(world.serverName)}`);
    // Joining or knocking on a room of another server that cannot be reached: 502, as Synapse
    // answers ("Failed to make_join via any server").
    // Both forms: /join/{roomIdOrAlias} and /rooms/{roomId}/join (a room ID names its server).
    const remoteMembership = answer.status === 502 && /\/(?:join|knock)(?:[/?]|$)/.test(path);
    if (answer.status >= 500 && !remoteList && !remoteMembership) return `server error ${answer.status}: ${answer.text.slice(0, 200)}`;
    if (answer.status < 400) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return `${answer.status} without a JSON body (a desync answers so): ${answer.text.slice(0, 200)}`;
    }
    // A user-interactive auth challenge is a 401 with flows and no errcode (§ User-interactive authentication API).
    if (answer.status === 401 && typeof body === 'object' && body !== null && 'flows' in body) return undefined;
    const errcode = (body as { errcode?: unknown }).errcode;
    return typeof errcode === 'string' && errcode.startsWith('M_') ? undefined : `${answer.status} without a Matrix errcode: ${answer.text.slice(0, 200)}`;
  };

  it('answers ~3,000 hostile requests without a 5xx or a desync, and every room still takes writes', async () => {
    const spec = ClientServerSpec.load();
    const random = seededRandom(seed);
    const operations: Operation[] = spec.operations
      .filter((operation) => operation.template.startsWith('/_matrix/client/') && !SPARED.test(operation.template))
      .map((operation) => ({ operation, order: random() }))
      .sort((a, b) => a.order - b.order)
      .map(({ operation }) => operation);
    expect(operations.length).toBeGreaterThan(120);
    const fuzzer = new RequestFuzzer(seed, world);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const started = Date.now();
    let sent = 0;
    while (sent < REQUESTS && Date.now() - started < TIME_BUDGET_MS && failures.length < 20) {
      const operation = operations[sent % operations.length]!;
      // One request in five is plausible throughout, to reach the code behind the first checks.
      const fuzzed = fuzzer.request(operation, sent % 5 === 0 ? 0 : 0.3);
      const answer = await send(fuzzed.method, fuzzed.path, fuzzed.body).catch((error: Error) => error);
      const wrong = answer instanceof Error ? `connection failed: ${answer.message}` : wrongAnswer(fuzzed.path, answer);
      if (!(answer instanceof Error)) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (wrong !== undefined) failures.push(`${fuzzed.method} ${fuzzed.path.slice(0, 160)} [${fuzzed.planted.slice(0, 200)}] → ${wrong}`);
      sent++;
      if (sent % CHECK_EVERY === 0) {
        const whoami = await send('GET', '/_matrix/client/v3/account/whoami', undefined);
        if (whoami.status !== 200 || JSON.parse(whoami.text).user_id !== alice.userId) {
          failures.push(`after request ${sent}, whoami answered ${whoami.status} ${whoami.text.slice(0, 200)}`);
        }
      }
    }
    expect(failures, `seed ${seed}`).toEqual([]);
    expect(sent, `seed ${seed}: requests sent within the time budget`).toBeGreaterThanOrEqual(1_500);
    // Enough requests got past the first checks to exercise what lies behind them.
    const succeeded = [...statuses].filter(([status]) => status < 300).reduce((sum, [, count]) => sum + count, 0);
    expect(succeeded, `seed ${seed}: statuses ${JSON.stringify([...statuses].sort())}`).toBeGreaterThanOrEqual(200);

    // Every partition still takes writes and /sync shows them.
    const since = (await bob.sync()).next_batch as string;
    const sentIds = new Map<string, string>();
    for (const roomId of canaries) sentIds.set(roomId, await bob.send(roomId, 'after the fuzz'));
    const seen = new Set<string>();
    await bob.syncUntil((sync) => {
      for (const [roomId, eventId] of sentIds) if (timelineOf(sync, roomId).some((event) => event.event_id === eventId)) seen.add(roomId);
      return seen.size === sentIds.size;
    }, { since });
    expect((await alice.get('/account/whoami')).user_id).toBe(alice.userId);
  }, 120_000);
});
