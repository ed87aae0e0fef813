/**
 * Synapse asking Strata (the peer of infra/services/synapse.sh with STRATA_SYNAPSE_FEDERATION=1):
 * a Strata named `127.0.0.1:<port>`, its TLS listener on that port, holds a user and a room alias;
 * Synapse's client API is asked about them, so Synapse fetches Strata's key and sends signed
 * queries to Strata's inbound federation API (profile and directory queries, user keys, public rooms).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, type Body, type TestServer, type UserClient } from '../harness/index.ts';
import { deviceKeys, generateTestKeyPair, signAs } from '../fixtures/index.ts';
import { startStrataBesideSynapse, startSynapsePeer, type SynapsePeer } from './synapsePeer.ts';

let peer: SynapsePeer;
let strata: TestServer;
let alice: UserClient;
let synapse: UserClient;
const suffix = Date.now().toString(36);
const e = encodeURIComponent;

beforeAll(async () => {
  peer = await startSynapsePeer();
  strata = await startStrataBesideSynapse();
  const strataClient = new MatrixClient(strata.url);
  alice = strataClient.as(await strataClient.register(`alice${suffix}`));
  const synapseClient = new MatrixClient(peer.clientUrl);
  synapse = synapseClient.as(await synapseClient.registerWithSharedSecret(peer.sharedSecret, `asker${suffix}`));
}, 240_000);

afterAll(async () => {
  await strata?.stop();
  await peer?.stop();
}, 120_000);

describe('Synapse querying Strata over federation', () => {
  it('gets a Strata user\'s profile, and Strata\'s 404 for one it does not have', async () => {
    await alice.put(`/profile/${e(alice.userId)}/displayname`, { displayname: 'Strata Alice' });
    expect(await synapse.get(`/profile/${e(alice.userId)}`)).toMatchObject({ displayname: 'Strata Alice' });
    expect(await synapse.get(`/profile/${e(alice.userId)}/displayname`)).toEqual({ displayname: 'Strata Alice' });
    await synapse.fails('GET', `/profile/${e(`@nobody${suffix}:${strata.serverName}`)}`, { status: 404, errcode: 'M_NOT_FOUND' });
  });

  it('resolves a Strata room alias', async () => {
    const roomId = await alice.createRoom({ room_alias_name: `lobby${suffix}`, preset: 'public_chat', visibility: 'public', name: `Lobby ${suffix}` });
    expect(await synapse.get(`/directory/room/${e(`#lobby${suffix}:${strata.serverName}`)}`)).toEqual({ room_id: roomId, servers: [strata.serverName] });
    await synapse.fails('GET', `/directory/room/${e(`#missing${suffix}:${strata.serverName}`)}`, { status: 404, errcode: 'M_NOT_FOUND' });
  });

  it('queries and claims a Strata user\'s keys', async () => {
    const device = generateTestKeyPair();
    const keys = deviceKeys(alice.userId, alice.session.deviceId, device);
    const oneTimeKey = signAs({ key: 'T05FX1RJTUVfS0VZX0ZST01fU1RSQVRB' }, alice.userId, `ed25519:${alice.session.deviceId}`, device);
    await alice.post('/keys/upload', { device_keys: keys, one_time_keys: { 'signed_curve25519:AAAAAQ': oneTimeKey } });
    const query = await synapse.post('/keys/query', { device_keys: { [alice.userId]: [] } });
    expect(query.failures).toEqual({});
    expect((query.device_keys as Record<string, Body>)[alice.userId]![alice.session.deviceId]).toMatchObject(keys);
    const claim = await synapse.post('/keys/claim', { one_time_keys: { [alice.userId]: { [alice.session.deviceId]: 'signed_curve25519' } } });
    expect(claim.one_time_keys).toEqual({ [alice.userId]: { [alice.session.deviceId]: { 'signed_curve25519:AAAAAQ': oneTimeKey } } });
  });

  it('lists Strata\'s public rooms', async () => {
    const listed = await synapse.get('/publicRooms', { server: strata.serverName });
    expect(listed.chunk).toContainEqual(expect.objectContaining({ name: `Lobby ${suffix}`, canonical_alias: `#lobby${suffix}:${strata.serverName}` }));
    const filtered = await synapse.post(`/publicRooms?server=${e(strata.serverName)}`, { filter: { generic_search_term: `Lobby ${suffix}` } });
    expect(filtered.chunk).toEqual([expect.objectContaining({ name: `Lobby ${suffix}` })]);
  });
});
