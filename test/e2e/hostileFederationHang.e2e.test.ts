// A remote server that hangs — accepts TCP connections and never answers a byte — cannot block
// other destinations or local clients. Its user Sloth joins Alice's room (through make_join +
// send_join while the server still answers), then it hangs: Alice keeps sending and Bob keeps
// syncing at full speed while Strata's federation sender tries to reach it, and the other remote
// member's server (the fake server of test/harness/hostileRoom.ts) still gets Alice's messages. A
// PDU or a request naming a hanging server's key holds up nothing but itself, and so do a client's
// lookups of the hanging server's user (a profile, /keys/query with its timeout). Both deployments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, messageBodies, timelineOf, type Body, type ServerMode, type UserClient } from '../harness/index.ts';
import { startFakeRemoteServer, type FakeRemoteServer } from '../harness/fakeRemoteServer.ts';
import { startHostileRoom, type HostileRoom } from '../harness/hostileRoom.ts';
import { joinAsRemote } from '../harness/remoteMember.ts';

/** Far below the federation client's timeouts (10 s to connect or fetch keys, 60 s for an answer). */
const QUICK_MS = 2_500;

const timed = async <T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = Date.now();
  const value = await run();
  return { value, ms: Date.now() - started };
};

/** The bodies of the m.room.message PDUs a fake server received in Strata's transactions. */
const deliveredBodies = (remote: FakeRemoteServer): string[] => remote.received
  .filter((request) => request.method === 'PUT' && request.path.startsWith('/_matrix/federation/v1/send/'))
  .flatMap((request) => ((request.body as Body | undefined)?.pdus as Body[] | undefined) ?? [])
  .filter((pdu) => pdu.type === 'm.room.message')
  .map((pdu) => pdu.content?.body as string);

describe.each<ServerMode>(['embedded', 'distributed'])('a hanging federation peer (%s)', (mode) => {
  let h: HostileRoom;
  let bob: UserClient;
  let sloth: FakeRemoteServer;
  const hanging: FakeRemoteServer[] = [];
  /** A server whose keys Strata never had (nor tried to have): it hangs from the start. */
  const mute = async (): Promise<FakeRemoteServer> => {
    const server = await startFakeRemoteServer(h.server);
    server.hang();
    hanging.push(server);
    return server;
  };
  /** Alice sends while `attack` runs (started 300 ms before): her send must not wait for it. */
  const expectAliceUnhindered = async <T>(attack: () => Promise<T>): Promise<T> => {
    const pending = attack();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const alices = await timed(() => h.alice.send(h.room, 'not waiting'));
    expect(alices.ms, 'Alice\'s send waited for the hanging server').toBeLessThan(QUICK_MS);
    return pending;
  };

  beforeAll(async () => {
    h = await startHostileRoom(mode);
    const client = new MatrixClient(h.server.url);
    bob = client.as(await client.register('bob'));
    await bob.post(`/join/${e(h.room)}`);
    sloth = await startFakeRemoteServer(h.server);
    await joinAsRemote(sloth, h.alice, h.room, 'sloth');
    sloth.hang();
  }, 120_000);
  afterAll(async () => {
    await sloth?.stop();
    for (const server of hanging) await server.stop();
    await h?.stop();
  });

  it('lets Alice send and Bob sync at full speed, and the other server get the messages, while the federation sender tries the hanging one', async () => {
    const start = (await bob.sync({ timeout: 0 })).next_batch as string;
    const bodies = Array.from({ length: 10 }, (_, i) => `through the jam ${i}`);
    const latencies: number[] = [];
    for (const body of bodies) latencies.push((await timed(() => h.alice.send(h.room, body))).ms);
    expect(Math.max(...latencies), `send latencies ${latencies.join(', ')} ms`).toBeLessThan(QUICK_MS);
    const seen = await timed(() => bob.syncUntil((sync) => messageBodies(timelineOf(sync, h.room)).includes(bodies[9]!), { since: start, timeoutMs: 10_000 }));
    expect(seen.ms).toBeLessThan(QUICK_MS);
    // Another destination is served meanwhile.
    const deadline = Date.now() + 20_000;
    while (!bodies.every((body) => deliveredBodies(h.remote).includes(body)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(bodies.filter((body) => !deliveredBodies(h.remote).includes(body))).toEqual([]);
    // The federation sender did try the hanging server, and got nothing back.
    expect(sloth.hungConnections()).toBeGreaterThan(0);
    expect(sloth.received.filter((request) => request.at > Date.now() - 20_000 && request.path.includes('/send/'))).toEqual([]);
  }, 60_000);

  it('does not hold up the room while a PDU whose sender is on a server that hangs waits for that server\'s keys', async () => {
    const server = await mute();
    const authEvents = (await h.mallory.build({ type: 'm.room.message', content: {} })).pdu.auth_events as string[];
    const stranger = await h.mallory.build({
      type: 'm.room.message', content: { msgtype: 'm.text', body: 'wait for me' }, sender: `@stranger:${server.serverName}`, authEventIds: authEvents,
    }, { key: server.key });
    const answer = await expectAliceUnhindered(() => h.mallory.send([stranger.pdu]));
    h.expectRefused(answer, stranger.eventId);
    await h.expectUnknownToAlice(stranger.eventId);
  }, 60_000);

  it('does not hold up the room while a valid PDU carrying an extra signature of a server that hangs is judged', async () => {
    const server = await mute();
    const signed = await h.mallory.build({ type: 'm.room.message', content: { msgtype: 'm.text', body: 'with a stowaway' } });
    // Only Mallory's server must sign; another server's signature is not the receiver's concern.
    const pdu = { ...signed.pdu, signatures: { ...(signed.pdu.signatures as Body), [server.serverName]: { 'ed25519:any': 'c3Rvd2F3YXk' } } };
    const answer = await expectAliceUnhindered(() => h.mallory.send([pdu]));
    expect(answer.status).toBe(200);
  }, 60_000);

  it('does not hold up other servers\' requests while one claiming a hanging origin waits for its keys', async () => {
    const server = await mute();
    const claimed = timed(() => server.request('GET', `/_matrix/federation/v1/event/${e(h.mallory.joinEventId)}`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await h.stateOf();
    const other = await timed(() => h.expectUnharmed(before));
    expect(other.ms).toBeLessThan(QUICK_MS * 2);
    expect((await claimed).value.status).toBe(401);
  }, 60_000);

  it('answers a client\'s lookups of the hanging server\'s user within their own bounds, holding up no one else', async () => {
    const slothUser = `@sloth:${sloth.serverName}`;
    const profile = timed(() => bob.request('GET', `/profile/${e(slothUser)}`));
    const keys = timed(() => bob.request('POST', '/keys/query', { json: { device_keys: { [slothUser]: [] }, timeout: 1_000 } }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const alices = await timed(() => h.alice.send(h.room, 'while Bob waits'));
    expect(alices.ms).toBeLessThan(QUICK_MS);
    const answered = await keys;
    expect(answered.value.status).toBe(200);
    expect(Object.keys(answered.value.body.failures as Body)).toEqual([sloth.serverName]);
    expect(answered.ms).toBeLessThan(QUICK_MS * 2);
    expect((await profile).value.status).toBeGreaterThanOrEqual(400);
  }, 60_000);
});
