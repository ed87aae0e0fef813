// POST /search for room_events over HTTP against the whole server in both deployments
// (client-server-api § Server Side Search, search.yaml): every parameter, what a searcher may not
// see (history after they left, ignored users, redacted events), pagination and bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer } from '../../../test/harness/index.ts';
import { syncTestClient, V3, type SyncSession, type SyncTestClient } from '../../../test/harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('/search (%s)', (mode) => {
  let server: TestServer;
  let ok: SyncTestClient['ok'];
  let call: SyncTestClient['call'];
  let alice: SyncSession;
  let bob: SyncSession;
  let carol: SyncSession;
  let garden: string;
  let kitchen: string;
  const sent: Record<string, string> = {};

  const send = async (who: SyncSession, roomId: string, body: string, msgtype = 'm.text'): Promise<string> =>
    (await ok('POST', `${V3}/rooms/${e(roomId)}/send/m.room.message`, who.token, { msgtype, body })).event_id as string;
  const search = async (who: SyncSession, category: Body, nextBatch?: string): Promise<Body> =>
    (await ok('POST', `${V3}/search${nextBatch === undefined ? '' : `?next_batch=${e(nextBatch)}`}`, who.token,
      { search_categories: { room_events: category } })).search_categories.room_events as Body;
  const resultIds = (answer: Body): string[] => (answer.results as Body[]).map((result) => result.result.event_id as string);
  /** The search projection follows the log: waits until `eventId` is found. */
  const indexed = async (who: SyncSession, term: string, eventId: string): Promise<void> => {
    for (let attempt = 0; attempt < 200; attempt += 1) {
      if (resultIds(await search(who, { search_term: term, order_by: 'recent', filter: { limit: 100 } })).includes(eventId)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${eventId} was never indexed`);
  };

  beforeAll(async () => {
    server = await startTestServer({ mode });
    ({ ok, call } = syncTestClient(new MatrixClient(server.url)));
    alice = await syncTestClient(new MatrixClient(server.url)).register('alice');
    bob = await syncTestClient(new MatrixClient(server.url)).register('bob');
    carol = await syncTestClient(new MatrixClient(server.url)).register('carol');
    await ok('PUT', `${V3}/profile/${e(alice.userId)}/displayname`, alice.token, { displayname: 'Alice' });
    garden = (await ok('POST', `${V3}/createRoom`, alice.token, { name: 'Garden party', topic: 'Roses and tulips', preset: 'public_chat' })).room_id as string;
    kitchen = (await ok('POST', `${V3}/createRoom`, alice.token, { name: 'Kitchen', preset: 'public_chat' })).room_id as string;
    await ok('POST', `${V3}/join/${e(garden)}`, bob.token, {});
    await ok('POST', `${V3}/join/${e(kitchen)}`, bob.token, {});
    sent.first = await send(alice, garden, 'The roses are blooming');
    sent.second = await send(bob, garden, 'Roses, roses, so many roses');
    sent.kitchen = await send(alice, kitchen, 'Rose water for the cake');
    sent.notice = await send(bob, kitchen, 'roses delivered', 'm.notice');
    sent.encrypted = (await ok('POST', `${V3}/rooms/${e(kitchen)}/send/m.room.encrypted`, alice.token,
      { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'roses', sender_key: 'k', session_id: 's', device_id: 'D' })).event_id as string;
    sent.last = await send(alice, kitchen, 'last roses');
    await indexed(alice, 'roses', sent.last);
  });
  afterAll(() => server?.stop());

  it('finds a message as soon as its send has answered, as /sync shows it', async () => {
    for (let i = 0; i < 5; i += 1) {
      const word = `marigold${i}x${Date.now().toString(36)}`;
      const eventId = await send(bob, garden, `planting ${word} today`);
      expect(resultIds(await search(alice, { search_term: word }))).toEqual([eventId]);
    }
  });

  it('refuses bad input with Matrix errors', async () => {
    const post = (body: unknown, query = '') => call('POST', `${V3}/search${query}`, alice.token, body);
    const expectError = async (reply: Promise<{ status: number; body: Body }>, status: number, errcode: string) => {
      const { status: got, body } = await reply;
      expect([got, body.errcode]).toEqual([status, errcode]);
    };
    expect((await call('POST', `${V3}/search`, undefined, {})).status).toBe(401);
    await expectError(post({}), 400, 'M_BAD_JSON');
    await expectError(post({ search_categories: [] }), 400, 'M_BAD_JSON');
    // Another category than room_events: Synapse's "Invalid search query".
    await expectError(post({ search_categories: { groups: { search_term: 'x' } } }), 400, 'M_UNKNOWN');
    const room = (category: Body) => post({ search_categories: { room_events: category } });
    await expectError(room({}), 400, 'M_BAD_JSON');
    await expectError(room({ search_term: 5 }), 400, 'M_BAD_JSON');
    await expectError(room({ search_term: 'x'.repeat(1001) }), 400, 'M_INVALID_PARAM');
    await expectError(room({ search_term: 'x', order_by: 'best' }), 400, 'M_INVALID_PARAM');
    await expectError(room({ search_term: 'x', keys: ['content.secret'] }), 400, 'M_INVALID_PARAM');
    await expectError(room({ search_term: 'x', filter: { limit: -1 } }), 400, 'M_INVALID_PARAM');
    await expectError(room({ search_term: 'x', filter: { limit: 'ten' } }), 400, 'M_BAD_JSON');
    await expectError(room({ search_term: 'x', filter: { senders: [1] } }), 400, 'M_BAD_JSON');
    await expectError(room({ search_term: 'x', filter: { rooms: Array.from({ length: 1001 }, (_, i) => `!r${i}:x`) } }), 400, 'M_INVALID_PARAM');
    await expectError(room({ search_term: 'x', event_context: { before_limit: 1.5 } }), 400, 'M_BAD_JSON');
    await expectError(room({ search_term: 'x', groupings: { group_by: [{ key: 'type' }] } }), 400, 'M_INVALID_PARAM');
    await expectError(room({ search_term: 'x', include_state: 'yes' }), 400, 'M_BAD_JSON');
    await expectError(post({ search_categories: { room_events: { search_term: 'x' } } }, '?next_batch=garbage'), 400, 'M_INVALID_PARAM');
  });

  it('finds bodies, names and topics with counts, ranks, highlights and the last word as a prefix', async () => {
    const answer = await search(alice, { search_term: 'ROSES' });
    // Bodies in both rooms and the topic; not the encrypted event, which has no body, nor "Rose"
    // (the `simple` configuration does not stem).
    expect(answer.count).toBe(5);
    expect(resultIds(answer)[0]).toBe(sent.second);
    expect(resultIds(answer)).not.toContain(sent.encrypted);
    expect((answer.results as Body[]).every((result) => typeof result.rank === 'number')).toBe(true);
    expect(answer.highlights).toContain('roses');
    expect(answer.next_batch).toBeUndefined();
    const prefix = await search(alice, { search_term: 'bloom' });
    expect(resultIds(prefix)).toEqual([sent.first]);
    expect(prefix.highlights).toContain('blooming');
    expect(resultIds(await search(alice, { search_term: 'rose' }))).toContain(sent.kitchen);
    expect(resultIds(await search(alice, { search_term: 'nothing matches this' }))).toEqual([]);
    const names = await search(alice, { search_term: 'garden', keys: ['content.name'] });
    expect((names.results as Body[]).map((result) => result.result.type)).toEqual(['m.room.name']);
    const topics = await search(alice, { search_term: 'tulips', keys: ['content.topic'] });
    expect((topics.results as Body[]).map((result) => result.result.type)).toEqual(['m.room.topic']);
    expect((await search(alice, { search_term: 'roses', keys: ['content.name'] })).count).toBe(0);
  });

  it('applies the filter: rooms, not_rooms, senders, not_senders, types, not_types, contains_url and limit', async () => {
    const ids = async (filter: Body) => resultIds(await search(alice, { search_term: 'roses', keys: ['content.body'], order_by: 'recent', filter }));
    expect(await ids({ rooms: [garden] })).toEqual([sent.second, sent.first]);
    expect(await ids({ not_rooms: [garden] })).toEqual([sent.last, sent.notice]);
    expect(await ids({ senders: [bob.userId] })).toEqual([sent.notice, sent.second]);
    expect(await ids({ not_senders: [bob.userId] })).toEqual([sent.last, sent.first]);
    expect(await ids({ limit: 1 })).toEqual([sent.last]);
    const image = (await ok('POST', `${V3}/rooms/${e(garden)}/send/m.room.message`, alice.token,
      { msgtype: 'm.image', body: 'roses.png', url: 'mxc://example.org/roses' })).event_id as string;
    await indexed(alice, 'roses', image);
    expect(await ids({ contains_url: true })).toEqual([image]);
    expect(await ids({ contains_url: false })).not.toContain(image);
    expect(await ids({ contains_url: false })).toHaveLength(4);
    await ok('PUT', `${V3}/rooms/${e(garden)}/redact/${e(image)}/image`, alice.token, {});
    const types = async (filter: Body) => (await search(alice, { search_term: 'roses', filter })).results.map((result: Body) => result.result.type as string);
    expect(await types({ not_types: ['m.room.message'] })).toEqual(['m.room.topic']);
    expect(await types({ types: ['m.room.t*'] })).toEqual(['m.room.topic']);
    expect(new Set(await types({ types: ['m.room.message'] }))).toEqual(new Set(['m.room.message']));
  });

  it('pages with next_batch in both orders', async () => {
    const collect = async (orderBy: string): Promise<string[]> => {
      const ids: string[] = [];
      let batch: string | undefined;
      for (let page = 0; page < 10; page += 1) {
        const answer = await search(alice, { search_term: 'roses', keys: ['content.body'], order_by: orderBy, filter: { limit: 2 } }, batch);
        ids.push(...resultIds(answer));
        batch = answer.next_batch as string | undefined;
        if (batch === undefined) break;
      }
      return ids;
    };
    expect(await collect('recent')).toEqual([sent.last, sent.notice, sent.second, sent.first]);
    expect((await collect('rank')).sort()).toEqual([sent.last, sent.notice, sent.second, sent.first].sort());
    // A rank batch is not a recent one.
    const rankBatch = (await search(alice, { search_term: 'roses', filter: { limit: 1 } })).next_batch as string;
    const reply = await call('POST', `${V3}/search?next_batch=${e(rankBatch)}`, alice.token,
      { search_categories: { room_events: { search_term: 'roses', order_by: 'recent' } } });
    expect([reply.status, reply.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
  });

  it('answers event_context with profiles as they were, include_state and groupings', async () => {
    await ok('PUT', `${V3}/profile/${e(alice.userId)}/displayname`, alice.token, { displayname: 'Alice Later' });
    const answer = await search(bob, {
      search_term: 'cake', event_context: { before_limit: 2, after_limit: 1, include_profile: true }, include_state: true,
      groupings: { group_by: [{ key: 'room_id' }, { key: 'sender' }] },
    });
    const [result] = answer.results as Body[];
    expect(result!.result.event_id).toBe(sent.kitchen);
    const context = result!.context as Body;
    expect((context.events_after as Body[]).map((event) => event.event_id)).toEqual([sent.notice]);
    expect((context.events_before as Body[])).toHaveLength(2);
    expect(context.start).toEqual(expect.any(String));
    expect(context.end).toEqual(expect.any(String));
    expect(context.profile_info[alice.userId]).toEqual({ displayname: 'Alice' });
    expect(context.profile_info[bob.userId]).toEqual({ displayname: 'bob' });
    const state = answer.state[kitchen] as Body[];
    expect(state.find((event) => event.type === 'm.room.name')?.content).toEqual({ name: 'Kitchen' });
    expect(Object.keys(answer.state as Body)).toEqual([kitchen]);
    expect(answer.groups.room_id[kitchen]).toEqual({ results: [sent.kitchen], order: 0 });
    expect(answer.groups.sender[alice.userId]).toEqual({ results: [sent.kitchen], order: 0 });
  });

  it('shows a user who left nothing said after, and a stranger nothing', async () => {
    const room = (await ok('POST', `${V3}/createRoom`, alice.token, { preset: 'public_chat' })).room_id as string;
    await ok('POST', `${V3}/join/${e(room)}`, carol.token, {});
    const before = await send(alice, room, 'violets before');
    await ok('POST', `${V3}/rooms/${e(room)}/leave`, carol.token, {});
    const after = await send(alice, room, 'violets after');
    await indexed(alice, 'violets', after);
    expect(resultIds(await search(carol, { search_term: 'violets' }))).toEqual([before]);
    // Joined rooms only: dave never joined this public room.
    const dave = await syncTestClient(new MatrixClient(server.url)).register('dave');
    expect((await search(dave, { search_term: 'violets' })).count).toBe(0);
  });

  it('hides messages of ignored users and a redacted event at once', async () => {
    await ok('PUT', `${V3}/user/${e(bob.userId)}/account_data/m.ignored_user_list`, bob.token, { ignored_users: { [alice.userId]: {} } });
    const ignoring = await search(bob, { search_term: 'roses', keys: ['content.body'], order_by: 'recent' });
    expect(resultIds(ignoring)).toEqual([sent.notice, sent.second]);
    // The topic alice set is state: still shown.
    expect((await search(bob, { search_term: 'tulips' })).count).toBe(1);
    await ok('PUT', `${V3}/user/${e(bob.userId)}/account_data/m.ignored_user_list`, bob.token, { ignored_users: {} });

    await ok('PUT', `${V3}/rooms/${e(garden)}/redact/${e(sent.first)}/r1`, alice.token, {});
    const redacted = await search(alice, { search_term: 'blooming' });
    expect(resultIds(redacted)).toEqual([]);
    expect(redacted.count).toBe(0);
  });
});
