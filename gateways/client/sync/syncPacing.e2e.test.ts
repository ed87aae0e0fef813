// /sync answers paced per device (`sync_response_interval_ms`, domain/app/sync/sync.ts `paced`):
// a device long-polling right after an answer gets the events landing within the interval in one
// answer instead of one answer each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, startTestServer, type Body, type TestServer, type UserClient } from '../../../test/harness/index.ts';

/** The longest the config allows: both sends land inside it even on a loaded machine. */
const INTERVAL_MS = 1_000;

const bodiesIn = (response: Body, roomId: string): string[] =>
  ((response.rooms?.join?.[roomId]?.timeline?.events ?? []) as Body[])
    .filter((event) => event.type === 'm.room.message').map((event) => event.content.body as string);

describe('/sync answers paced per device', () => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;

  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded', file: { sync_response_interval_ms: INTERVAL_MS } });
    const client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
  });
  afterAll(() => server?.stop());

  it('answers a device polling right after its last answer once the interval is over, with everything sent meanwhile', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${encodeURIComponent(roomId)}`);
    const answered = (await bob.sync()).next_batch as string;

    // The first event would end the long-poll at once; the second lands while it is held.
    await alice.send(roomId, 'first');
    const polling = bob.sync({ since: answered, timeout: 10_000 });
    await alice.send(roomId, 'second');
    const response = await polling;
    expect(bodiesIn(response, roomId)).toEqual(['first', 'second']);
  });
});
