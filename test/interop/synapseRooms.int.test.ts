/**
 * Rooms spanning Strata and Synapse (issue: federation): a Strata user's room joined by a Synapse
 * user and the reverse, with messages, state and membership agreeing on both servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, UserClient, e, type Body, type TestServer } from '../harness/index.ts';
import { startStrataBesideSynapse, startSynapsePeer, type SynapsePeer } from './synapsePeer.ts';

let peer: SynapsePeer;
let strata: TestServer;
let alice: UserClient;
let bob: UserClient;

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Polls `read` until `until` holds (federation is asynchronous); fails after `timeoutMs`. */
const eventually = async <T>(read: () => Promise<T>, until: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let failure: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (until(last)) return last;
    } catch (error) {
      failure = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`${what}: not seen in ${timeoutMs} ms (last: ${JSON.stringify(last)?.slice(0, 800)}; error: ${String(failure)})`);
};

const bodies = (messages: Body): string[] => (messages.chunk as Body[]).filter((event) => event.type === 'm.room.message').map((event) => event.content.body as string);
const history = (user: UserClient, roomId: string) => user.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 50 });
const joinedMembers = async (user: UserClient, roomId: string) => Object.keys((await user.get(`/rooms/${e(roomId)}/joined_members`)).joined as Body).sort();

beforeAll(async () => {
  peer = await startSynapsePeer();
  strata = await startStrataBesideSynapse();
  const strataClient = new MatrixClient(strata.url);
  alice = new UserClient(strataClient, await strataClient.register(`alice${unique()}`));
  const synapseClient = new MatrixClient(peer.clientUrl);
  bob = new UserClient(synapseClient, await synapseClient.registerWithSharedSecret(peer.sharedSecret, `bob${unique()}`));
}, 240_000);

afterAll(async () => {
  await strata?.stop();
  await peer?.stop();
}, 120_000);

describe('a Strata room joined by a Synapse user', () => {
  it('invites, joins, and carries messages both ways', async () => {
    const roomId = await alice.createRoom({ preset: 'private_chat', name: 'strata-hosted' });
    await alice.post(`/rooms/${e(roomId)}/invite`, { user_id: bob.userId });
    await eventually(() => bob.sync(), (sync) => sync.rooms?.invite?.[roomId] !== undefined, 'the invite on Synapse');
    await bob.post(`/join/${e(roomId)}`, {});
    await eventually(() => joinedMembers(alice, roomId), (members) => members.includes(bob.userId), 'bob joined, as Strata sees it');

    await alice.send(roomId, 'hello from strata');
    await eventually(() => history(bob, roomId), (messages) => bodies(messages).includes('hello from strata'), 'alice\'s message on Synapse');
    await bob.send(roomId, 'hello from synapse');
    await eventually(() => history(alice, roomId), (messages) => bodies(messages).includes('hello from synapse'), 'bob\'s message on Strata');

    expect(await joinedMembers(bob, roomId)).toEqual(await joinedMembers(alice, roomId));
  }, 120_000);
});

describe('a Synapse room joined by a Strata user', () => {
  it('joins by alias, reads state, and carries messages both ways', async () => {
    const alias = `synapse${unique()}`;
    const roomId = await bob.createRoom({ preset: 'public_chat', room_alias_name: alias, name: 'synapse-hosted' });
    await bob.send(roomId, 'before strata came');
    const joined = await alice.post(`/join/${e(`#${alias}:${peer.serverName}`)}`, {});
    expect(joined.room_id).toBe(roomId);
    expect((await alice.get(`/rooms/${e(roomId)}/state/m.room.name/`)).name).toBe('synapse-hosted');
    await eventually(() => joinedMembers(bob, roomId), (members) => members.includes(alice.userId), 'alice joined, as Synapse sees it');

    await bob.send(roomId, 'welcome');
    await eventually(() => history(alice, roomId), (messages) => bodies(messages).includes('welcome'), 'bob\'s message on Strata');
    await alice.send(roomId, 'thanks');
    await eventually(() => history(bob, roomId), (messages) => bodies(messages).includes('thanks'), 'alice\'s message on Synapse');
    expect(await joinedMembers(alice, roomId)).toEqual(await joinedMembers(bob, roomId));
  }, 120_000);
});
