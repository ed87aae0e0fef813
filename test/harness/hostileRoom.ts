/**
 * The stage of the hostile federation suites: a Strata (either deployment) whose federation client
 * reaches loopback peers with self-signed certificates, a fake remote server, Alice's public room
 * "Fortress" (power levels as the public_chat preset sets them: state changes need 50), and the fake
 * server's user Mallory joined to it through make_join + send_join. The checks every attack ends with.
 */
import { expect } from 'vitest';
import { e, MatrixClient, type Body, type UserClient } from './client.ts';
import { startFakeRemoteServer, type FakeRemoteServer } from './fakeRemoteServer.ts';
import { joinAsRemote, type RemoteMember } from './remoteMember.ts';
import { startTestServer, type ServerMode, type TestServer } from './server.ts';
import { timelineOf } from './syncViews.ts';

/** Outbound federation to loopback peers whose certificates are self-signed. */
export const FEDERATION_ON_LOOPBACK = { STRATA_FEDERATION_VERIFY_CERTIFICATES: 'false', STRATA_FEDERATION_IP_RANGE_WHITELIST: '127.0.0.0/8' };
/** A /sync filter whose timeline holds everything since the token. */
export const WIDE_TIMELINE = JSON.stringify({ room: { timeline: { limit: 1000 } } });

type Answer = { status: number; body: Body };

export interface HostileRoom {
  readonly server: TestServer;
  readonly remote: FakeRemoteServer;
  readonly alice: UserClient;
  readonly mallory: RemoteMember;
  readonly room: string;
  /** Every event id a suite expects never to be shown to Alice. */
  readonly refusedIds: Set<string>;
  /** The room's state as Alice reads it, one sorted line per event (type, key, id, content). */
  stateOf(): Promise<string[]>;
  /** The answer is 200 and names `eventId` with an `error`; the id joins `refusedIds`. */
  expectRefused(answer: Answer, eventId: string): void;
  /** The answer is 200 and does not say `eventId` was handled (no entry, or an error). */
  expectNotAccepted(answer: Answer, eventId: string): void;
  /** Alice cannot read the event (404). */
  expectUnknownToAlice(eventId: string): Promise<void>;
  /** The state is `before`, /health answers 200, and a valid message of Mallory's reaches Alice's /sync. */
  expectUnharmed(before: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

export const startHostileRoom = async (mode: ServerMode): Promise<HostileRoom> => {
  const server = await startTestServer({ mode, config: FEDERATION_ON_LOOPBACK });
  let remote: FakeRemoteServer | undefined;
  try {
    remote = await startFakeRemoteServer(server);
    const client = new MatrixClient(server.url);
    const alice = client.as(await client.register('alice'));
    const room = await alice.createRoom({ preset: 'public_chat', name: 'Fortress', topic: 'keep out' });
    const mallory = await joinAsRemote(remote, alice, room, 'mallory');
    const refusedIds = new Set<string>();
    let valid = 0;

    const stateOf = async (): Promise<string[]> => ((await alice.get(`/rooms/${e(room)}/state`)) as unknown as Body[])
      .map((event) => JSON.stringify([event.type, event.state_key, event.event_id, event.content])).sort();
    const expectNotAccepted = (answer: Answer, eventId: string): void => {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.pdus?.[eventId], `${eventId} was handled: ${JSON.stringify(answer.body)}`).not.toEqual({});
      refusedIds.add(eventId);
    };
    return {
      server, remote, alice, mallory, room, refusedIds, stateOf, expectNotAccepted,
      expectRefused(answer, eventId) {
        expectNotAccepted(answer, eventId);
        expect(answer.body.pdus?.[eventId], `no error for ${eventId}: ${JSON.stringify(answer.body)}`).toMatchObject({ error: expect.any(String) });
      },
      async expectUnknownToAlice(eventId) {
        const answer = await alice.request('GET', `/rooms/${e(room)}/event/${e(eventId)}`);
        expect(answer.status, `${eventId} is readable: ${JSON.stringify(answer.body)}`).toBe(404);
      },
      async expectUnharmed(before) {
        expect(await stateOf()).toEqual(before);
        expect((await fetch(`${server.url}/health`)).status).toBe(200);
        const start = (await alice.sync({ timeout: 0 })).next_batch as string;
        const message = await mallory.build({ type: 'm.room.message', content: { msgtype: 'm.text', body: `still here ${++valid}` } });
        const answer = await mallory.send([message.pdu]);
        expect(answer.body, JSON.stringify(answer.body)).toEqual({ pdus: { [message.eventId]: {} } });
        await alice.syncUntil((sync) => timelineOf(sync, room).some((event) => event.event_id === message.eventId), { since: start });
      },
      async stop() {
        await remote?.stop();
        await server.stop();
      },
    };
  } catch (error) {
    await remote?.stop();
    await server.stop();
    throw error;
  }
};
