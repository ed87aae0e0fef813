// EDUs between servers through the whole composition (infra/strata.ts), over HTTP: a remote
// server's to-device message handed to the server's EDU receiver (as the federation /send route
// will) reaches the local device's /sync once, retries included; a local user's to-device message
// for a remote user leaves through the federation outbox; EDUs about rooms the remote user is not
// in change nothing, and garbage never fails the transaction. Membership-dependent flows (typing,
// receipts, presence, device lists with a remote member) run in test/int/federationEdus.int.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edu, FederationOutbox } from '../../domain/ports/index.ts';
import { MatrixClient, e, ephemeralOf, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

const REMOTE = 'remote.example:8448';
const alice = `@alice:${REMOTE}`;

interface Sent { readonly destinations: readonly string[]; readonly edu: Edu; readonly durable: boolean }

const toDeviceOf = (sync: Body): Body[] => (sync.to_device?.events as Body[] | undefined) ?? [];

describe.each<ServerMode>(['embedded', 'distributed'])('EDUs between servers (%s)', (mode) => {
  let server: TestServer;
  let bob: UserClient;
  let roomId: string;
  const sent: Sent[] = [];

  beforeAll(async () => {
    const outbox: FederationOutbox = { sendEdu: async (destinations, edu, options) => { sent.push({ destinations, edu, durable: options?.durable === true }); } };
    server = await startTestServer({ mode, federationOutbox: outbox });
    const client = new MatrixClient(server.url);
    bob = client.as(await client.register('bob'));
    roomId = await bob.createRoom({ preset: 'public_chat' });
  });
  afterAll(() => server?.stop());

  it('delivers a remote user\'s to-device message to the local device\'s /sync exactly once', async () => {
    const first = await bob.sync({ timeout: 0 });
    const edu = {
      edu_type: 'm.direct_to_device',
      content: { sender: alice, type: 'm.room_key_request', message_id: 'msg-1', messages: { [bob.userId]: { [bob.session.deviceId]: { action: 'request' } } } },
    };
    await server.edus.receive(REMOTE, [edu]);
    const got = await bob.syncUntil((sync) => toDeviceOf(sync).length > 0, { since: first.next_batch as string });
    expect(toDeviceOf(got)).toEqual([{ sender: alice, type: 'm.room_key_request', content: { action: 'request' } }]);
    // The origin retries the transaction: the message is not delivered again.
    await server.edus.receive(REMOTE, [edu]);
    const after = await bob.sync({ since: got.next_batch as string, timeout: 500 });
    expect(toDeviceOf(after)).toEqual([]);
  });

  it('queues a local user\'s to-device message for a remote user on that user\'s server, durably', async () => {
    sent.length = 0;
    await bob.put('/sendToDevice/m.room.encrypted/txn-1', { messages: { [alice]: { '*': { ciphertext: 'c' } } } });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      destinations: [REMOTE], durable: true,
      edu: { edu_type: 'm.direct_to_device', content: { sender: bob.userId, type: 'm.room.encrypted', messages: { [alice]: { '*': { ciphertext: 'c' } } } } },
    });
    expect((sent[0]!.edu.content.message_id as string).length).toBeLessThanOrEqual(32);
  });

  it('ignores typing, receipts and presence about a room or users the origin has no part in', async () => {
    const first = await bob.sync({ timeout: 0 });
    await server.edus.receive(REMOTE, [
      { edu_type: 'm.typing', content: { room_id: roomId, user_id: alice, typing: true } },
      { edu_type: 'm.receipt', content: { [roomId]: { 'm.read': { [alice]: { event_ids: ['$x'], data: { ts: 1 } } } } } },
      { edu_type: 'm.presence', content: { push: [{ user_id: alice, presence: 'online', last_active_ago: 0 }] } },
      // About our own user: no other server speaks for them.
      { edu_type: 'm.typing', content: { room_id: roomId, user_id: bob.userId, typing: true } },
    ]);
    const after = await bob.sync({ since: first.next_batch as string, timeout: 500 });
    expect(ephemeralOf(after, roomId)).toEqual([]);
    expect(((after.presence?.events as Body[] | undefined) ?? []).filter((event) => event.sender === alice)).toEqual([]);
  });

  it('never fails a transaction on malformed or unknown EDUs', async () => {
    await expect(server.edus.receive(REMOTE, [null, 42, 'edu', { edu_type: 'm.typing' }, { edu_type: 'org.example', content: {} }]))
      .resolves.toBeUndefined();
  });

  it('sends no typing EDU while no other server is in the room', async () => {
    sent.length = 0;
    await bob.put(`/rooms/${e(roomId)}/typing/${e(bob.userId)}`, { typing: true, timeout: 5_000 });
    const sync = await bob.syncUntil((response) => ephemeralOf(response, roomId).some((event) => event.type === 'm.typing'));
    expect(ephemeralOf(sync, roomId).find((event) => event.type === 'm.typing')?.content).toEqual({ user_ids: [bob.userId] });
    expect(sent).toEqual([]);
  });
});
