/**
 * The shared starting point of the conformance suites: an embedded Strata, alice, bob and carol
 * (each a ConformingClient, so every answer is checked against the spec), and alice's public room
 * "hall" (alias #hall) that bob has joined, with one message in it.
 */
import { MatrixClient, e, startTestServer, type TestServer } from '../harness/index.ts';
import { ConformingClient } from './conformance.ts';
import { ClientServerSpec } from './openapi.ts';

export interface ConformanceWorld {
  readonly server: TestServer;
  readonly spec: ClientServerSpec;
  /** No access token. */
  readonly anonymous: ConformingClient;
  readonly alice: ConformingClient;
  readonly bob: ConformingClient;
  readonly carol: ConformingClient;
  readonly aliceId: string;
  readonly bobId: string;
  readonly carolId: string;
  readonly hall: string;
  readonly hallMessage: string;
}

export const room = (roomId: string, rest = ''): string => `/rooms/${e(roomId)}${rest}`;
export const userPath = (userId: string, rest = ''): string => `/user/${e(userId)}${rest}`;

export const startConformanceWorld = async (): Promise<ConformanceWorld> => {
  const spec = ClientServerSpec.load();
  const server = await startTestServer({ mode: 'embedded' });
  try {
    const client = new MatrixClient(server.url);
    const anonymous = new ConformingClient(client, spec);
    const [a, b, c] = await Promise.all(['alice', 'bob', 'carol'].map((name) => client.register(name)));
    const [alice, bob, carol] = [anonymous.as(a!), anonymous.as(b!), anonymous.as(c!)];
    const hall = (await alice.post('/createRoom', { preset: 'public_chat', name: 'Hall', room_alias_name: 'hall' })).room_id as string;
    await bob.post(room(hall, '/join'));
    const hallMessage = (await alice.put(room(hall, '/send/m.room.message/m1'), { msgtype: 'm.text', body: 'hello' })).event_id as string;
    return { server, spec, anonymous, alice, bob, carol, aliceId: a!.userId, bobId: b!.userId, carolId: c!.userId, hall, hallMessage };
  } catch (error) {
    await server.stop();
    throw error;
  }
};
