// The user event WebSocket (GET /_strata/ws/v1/events) against the whole server in both
// deployments, with a real `ws` client: the same answers as /sync, resumable, bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { MatrixClient, PASSWORD, e, freePort, startTestServer, syncTestClient, V3, type Body, type ServerMode, type SyncSession, type SyncTestClient, type TestServer } from '../../test/harness/index.ts';
import { EVENT_SOCKET_CLOSE, USER_EVENTS_PATH } from './index.ts';

/** A connected socket and everything it has received so far. */
interface Stream {
  readonly ws: WebSocket;
  readonly messages: Body[];
  /** Resolves with the close code and reason once the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Waits until the messages received satisfy `until`. */
  waitFor(until: (messages: Body[]) => boolean, timeoutMs?: number): Promise<Body[]>;
}

const timelineBodies = (messages: Body[], roomId: string): string[] => messages.flatMap((message) =>
  ((message.rooms?.join?.[roomId]?.timeline?.events ?? []) as Body[])
    .filter((event) => event.type === 'm.room.message').map((event) => event.content.body as string));

/** Opens sockets to (and reads refusals from) the server at `base()`. */
const socketsOf = (base: () => string) => {
  const socketUrl = (query: Record<string, string>, path = USER_EVENTS_PATH): string =>
    `${base().replace(/^http/, 'ws')}${path}?${new URLSearchParams(query).toString()}`;

  const open = (query: Record<string, string>, options: ClientOptions = {}): Promise<Stream> => new Promise((resolve, reject) => {
    const ws = new WebSocket(socketUrl(query), options);
    const messages: Body[] = [];
    const waiters = new Set<() => void>();
    ws.on('message', (data: Buffer) => {
      messages.push(JSON.parse(data.toString()) as Body);
      for (const waiter of waiters) waiter();
    });
    const closed = new Promise<{ code: number; reason: string }>((done) => {
      ws.on('close', (code, reason) => done({ code, reason: reason.toString() }));
    });
    ws.once('error', reject);
    ws.once('open', () => resolve({
      ws, messages, closed,
      waitFor: (until, timeoutMs = 15_000) => new Promise((done, fail) => {
        const check = (): void => {
          if (!until(messages)) return;
          waiters.delete(check);
          clearTimeout(timer);
          done(messages);
        };
        const timer = setTimeout(() => { waiters.delete(check); fail(new Error(`timed out with ${messages.length} messages`)); }, timeoutMs);
        waiters.add(check);
        check();
      }),
    }));
  });

  /** The HTTP answer of a refused upgrade. */
  const refused = (query: Record<string, string>, headers: Record<string, string> = {}, path = USER_EVENTS_PATH): Promise<{ status: number; body: Body }> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(socketUrl(query, path), { headers });
      ws.on('unexpected-response', (_request, response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => { text += chunk.toString(); });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Body }));
      });
      ws.on('error', () => undefined);
      ws.on('open', () => reject(new Error('the upgrade was accepted')));
    });

  return { open, refused };
};

describe.each<ServerMode>(['embedded', 'distributed'])('user event WebSocket (%s)', (mode) => {
  let server: TestServer;
  let ok: SyncTestClient['ok'];
  let register: SyncTestClient['register'];
  let call: SyncTestClient['call'];
  let alice: SyncSession;
  let room: string;
  let metricsUrl: string;
  const { open, refused } = socketsOf(() => server.url);
  /** A sample's value in /metrics (0 when absent). */
  const sample = async (name: string): Promise<number> => {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
    return line === undefined ? 0 : Number(line.slice(name.length + 1));
  };

  const send = async (who: SyncSession, roomId: string, body: string): Promise<string> =>
    (await ok('PUT', `${V3}/rooms/${e(roomId)}/send/m.room.message/${Math.random()}`, who.token, { msgtype: 'm.text', body })).event_id as string;

  beforeAll(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    server = await startTestServer({
      mode,
      config: { STRATA_METRICS_LISTEN: `127.0.0.1:${metricsPort}` },
      // The configured bound (websocket.max_sockets_per_user); heartbeats and token checks shortened to watch them.
      file: { websocket: { max_sockets_per_user: 4 } },
      eventSockets: { heartbeatIntervalMs: 300, tokenCheckIntervalMs: 300, pollTimeoutMs: 2_000 },
    });
    ({ ok, register, call } = syncTestClient(new MatrixClient(server.url)));
    alice = await register('alice');
    room = (await ok('POST', `${V3}/createRoom`, alice.token, { name: 'Socket' })).room_id as string;
  });
  afterAll(() => server?.stop());

  it('refuses missing and unknown tokens and malformed positions before the upgrade', async () => {
    expect(await refused({})).toMatchObject({ status: 401, body: { errcode: 'M_MISSING_TOKEN' } });
    expect(await refused({ access_token: 'nope' })).toMatchObject({ status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } });
    expect(await refused({}, { Authorization: 'Bearer nope' })).toMatchObject({ status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } });
    expect(await refused({ access_token: alice.token, since: 'garbage' })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    expect(await refused({ access_token: alice.token, set_presence: 'away' })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    // Upgrades elsewhere are unknown requests, as plain ones would be.
    expect(await refused({ access_token: alice.token }, {}, '/_strata/ws/v1/nothing')).toMatchObject({ status: 404, body: { errcode: 'M_UNRECOGNIZED' } });
  });

  it('streams the initial /sync, then new events in the order /sync shows them, each with its next position', async () => {
    // The Authorization header works as well as the query parameter.
    const stream = await open({}, { headers: { Authorization: `Bearer ${alice.token}` } });
    const [initial] = await stream.waitFor((messages) => messages.length >= 1);
    expect(Object.keys(initial?.rooms?.join ?? {})).toContain(room);
    const since = initial?.next_batch as string;
    const sent = ['one', 'two', 'three', 'four', 'five'];
    for (const body of sent) await send(alice, room, body);
    await stream.waitFor((messages) => timelineBodies(messages.slice(1), room).length >= sent.length);
    expect(timelineBodies(stream.messages.slice(1), room)).toEqual(sent);
    // Every message carries its position, and /sync from the same position shows the same events.
    const positions = stream.messages.map((message) => message.next_batch as string);
    expect(new Set(positions).size).toBe(positions.length);
    const polled = await ok('GET', `${V3}/sync?since=${encodeURIComponent(since)}`, alice.token);
    expect(timelineBodies([polled], room)).toEqual(sent);
    const streamedIds = stream.messages.slice(1).flatMap((message) =>
      (message.rooms?.join?.[room]?.timeline?.events ?? []).map((event: Body) => event.event_id as string));
    expect(streamedIds).toEqual(polled.rooms.join[room].timeline.events.map((event: Body) => event.event_id as string));
    stream.ws.close();
    expect((await stream.closed).code).toBe(1005);
  });

  it('resumes from the position given at connect without losing what was sent meanwhile', async () => {
    const first = await open({ access_token: alice.token });
    await first.waitFor((messages) => messages.length >= 1);
    await send(alice, room, 'before');
    await first.waitFor((messages) => timelineBodies(messages, room).includes('before'));
    const resumeAt = first.messages[first.messages.length - 1]?.next_batch as string;
    first.ws.close();
    await first.closed;
    const missed = ['while away 1', 'while away 2', 'while away 3'];
    for (const body of missed) await send(alice, room, body);
    const again = await open({ access_token: alice.token, since: resumeAt });
    await send(alice, room, 'after');
    await again.waitFor((messages) => timelineBodies(messages, room).includes('after'));
    expect(timelineBodies(again.messages, room)).toEqual([...missed, 'after']);
    again.ws.close();
    await again.closed;
  });

  it('applies the user\'s filter as /sync does, and closes with 4000 + status when /sync refuses it', async () => {
    const topics = JSON.stringify({ room: { rooms: [room], timeline: { types: ['m.room.topic'] } } });
    const stream = await open({ access_token: alice.token, filter: topics });
    await stream.waitFor((messages) => messages.length >= 1);
    await send(alice, room, 'not a topic');
    await ok('PUT', `${V3}/rooms/${e(room)}/state/m.room.topic/`, alice.token, { topic: 'sockets' });
    await stream.waitFor((messages) => messages.slice(1).some((message) => message.rooms?.join?.[room] !== undefined));
    const types = stream.messages.slice(1).flatMap((message) =>
      (message.rooms?.join?.[room]?.timeline?.events ?? []).map((event: Body) => event.type as string));
    expect(types).toEqual(['m.room.topic']);
    stream.ws.close();
    await stream.closed;
    const unknown = await open({ access_token: alice.token, filter: '12345' });
    const closed = await unknown.closed;
    // The same refusal /sync answers over HTTP.
    const polled = await call('GET', `${V3}/sync?filter=12345`, alice.token);
    expect(closed.code).toBe(4000 + polled.status);
    expect(closed.reason.startsWith(`${polled.body.errcode as string}: `)).toBe(true);
  });

  it('keeps its user in the presence given by set_presence, as /sync does', async () => {
    const erin = await register('erin');
    const stream = await open({ access_token: erin.token, set_presence: 'unavailable' });
    await stream.waitFor((messages) => messages.length >= 1);
    expect((await ok('GET', `${V3}/presence/${e(erin.userId)}/status`, erin.token)).presence).toBe('unavailable');
    stream.ws.close();
    await stream.closed;
  });

  it('closes the socket with 4401 when its token is logged out', async () => {
    const bob = await register('bob');
    const stream = await open({ access_token: bob.token });
    await stream.waitFor((messages) => messages.length >= 1);
    await ok('POST', `${V3}/logout`, bob.token, {});
    const started = Date.now();
    const closed = await stream.closed;
    expect(closed.code).toBe(EVENT_SOCKET_CLOSE.tokenRevoked);
    expect(closed.reason).toMatch(/^M_UNKNOWN_TOKEN/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('closes the socket with 4401 when its device is deleted, and when its account is deactivated', async () => {
    const password = (session: string, user: string): Body => ({
      type: 'm.login.password', session, identifier: { type: 'm.id.user', user }, password: PASSWORD,
    });
    const carol = await register('carol');
    const stream = await open({ access_token: carol.token });
    await stream.waitFor((messages) => messages.length >= 1);
    const challenge = await call('DELETE', `${V3}/devices/${e(carol.deviceId)}`, carol.token);
    await ok('DELETE', `${V3}/devices/${e(carol.deviceId)}`, carol.token, { auth: password(challenge.body.session as string, carol.userId) });
    expect((await stream.closed).code).toBe(EVENT_SOCKET_CLOSE.tokenRevoked);

    const dave = await register('dave');
    const daves = await open({ access_token: dave.token });
    await daves.waitFor((messages) => messages.length >= 1);
    const deactivation = await call('POST', `${V3}/account/deactivate`, dave.token, {});
    await ok('POST', `${V3}/account/deactivate`, dave.token, { auth: password(deactivation.body.session as string, dave.userId) });
    expect((await daves.closed).code).toBe(EVENT_SOCKET_CLOSE.tokenRevoked);
  });

  it('pings live peers and keeps them; cuts a peer that stops answering pings', async () => {
    const live = await open({ access_token: alice.token });
    let pings = 0;
    live.ws.on('ping', () => { pings += 1; });
    const dead = await open({ access_token: alice.token }, { autoPong: false });
    const closed = await dead.closed;
    // Cut, not closed with a handshake: the client sees an abnormal closure.
    expect(closed.code).toBe(1006);
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    live.ws.close();
    await live.closed;
  });

  it('counts open sockets and closes by reason in /metrics', async () => {
    const OPEN = 'strata_websockets_open{stream="user_events"}';
    const closes = (reason: string): string => `strata_websocket_closes_total{stream="user_events",reason="${reason}"}`;
    const openBefore = await sample(OPEN);
    const closedBefore = await sample(closes('client'));
    const stream = await open({ access_token: alice.token });
    await stream.waitFor((messages) => messages.length >= 1);
    expect(await sample(OPEN)).toBe(openBefore + 1);
    stream.ws.close();
    await stream.closed;
    await expect.poll(() => sample(closes('client'))).toBe(closedBefore + 1);
    expect(await sample(OPEN)).toBe(openBefore);
    // Earlier tests here closed sockets for a revoked token and a missed heartbeat.
    expect(await sample(closes('token_revoked'))).toBeGreaterThanOrEqual(1);
    expect(await sample(closes('heartbeat'))).toBeGreaterThanOrEqual(1);
  });

  it('bounds the sockets one user holds', async () => {
    const streams = await Promise.all(Array.from({ length: 4 }, () => open({ access_token: alice.token })));
    expect(await refused({ access_token: alice.token })).toMatchObject({ status: 429, body: { errcode: 'M_LIMIT_EXCEEDED' } });
    for (const stream of streams) stream.ws.close();
    await Promise.all(streams.map((stream) => stream.closed));
  });
});

describe.each<ServerMode>(['embedded', 'distributed'])('user event WebSocket, slow readers (%s)', (mode) => {
  let server: TestServer;
  let ok: SyncTestClient['ok'];
  let alice: SyncSession;
  let room: string;
  const { open } = socketsOf(() => server.url);
  const MAX_BUFFERED = 256 * 1024;
  let stopped = false;

  const send = async (who: SyncSession, roomId: string, body: string): Promise<string> =>
    (await ok('PUT', `${V3}/rooms/${e(roomId)}/send/m.room.message/${Math.random()}`, who.token, { msgtype: 'm.text', body })).event_id as string;

  beforeAll(async () => {
    // A paused reader answers no ping either: the heartbeat is kept out of the way here.
    server = await startTestServer({ mode, file: { websocket: { max_buffered_size: `${MAX_BUFFERED / 1024}K`, heartbeat_interval: '1h' } } });
    const http = syncTestClient(new MatrixClient(server.url));
    ok = http.ok;
    alice = await http.register('alice');
    room = (await ok('POST', `${V3}/createRoom`, alice.token, { name: 'Flood' })).room_id as string;
  });
  afterAll(async () => { if (!stopped) await server?.stop(); });

  it('closes a reader that does not keep up with 1013 once its buffered output passes the bound', async () => {
    const stream = await open({ access_token: alice.token });
    const [initial] = await stream.waitFor((messages) => messages.length >= 1);
    expect(initial?.next_batch).toBeTypeOf('string');
    // The client stops reading: what the server sends fills the kernel's buffers, then the socket's.
    const raw = (stream.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    const big = 'x'.repeat(60_000);
    for (let batch = 0; batch < 25; batch += 1) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => send(alice, room, `${batch}-${i} ${big}`)));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    raw.resume();
    const closed = await stream.closed;
    expect(closed).toEqual({ code: EVENT_SOCKET_CLOSE.slowReader, reason: `slow reader: more than ${MAX_BUFFERED} bytes unread` });
    // The server went on answering others meanwhile.
    expect((await ok('GET', `${V3}/sync?timeout=0`, alice.token)).next_batch).toBeTypeOf('string');
  });

  it('closes its sockets with 1001 when the server shuts down', async () => {
    const stream = await open({ access_token: alice.token });
    await stream.waitFor((messages) => messages.length >= 1);
    const stopping = server.stop();
    expect(await stream.closed).toEqual({ code: EVENT_SOCKET_CLOSE.shutdown, reason: 'server shutting down' });
    await stopping;
    stopped = true;
  });
});
