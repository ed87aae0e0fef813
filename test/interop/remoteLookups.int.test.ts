/**
 * Remote lookups from Strata's client API against Synapse (the peer of infra/services/synapse.sh
 * with STRATA_SYNAPSE_FEDERATION=1): a Strata named `127.0.0.1:<port>`, with its TLS listener on that
 * port so Synapse can fetch its keys, asks Synapse for a user's profile, a room alias, device and
 * one-time keys, and its public room list, through infra/federation/remoteServers.ts.
 * (Synapse lists its rooms over federation only with allow_public_rooms_over_federation, which
 * synapse.sh sets for this peer.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, type TestServer } from '../harness/index.ts';
import { startStrataBesideSynapse, startSynapsePeer, type SynapsePeer } from './synapsePeer.ts';

let peer: SynapsePeer;
let strata: TestServer;
let strataToken: string;
let strataClient: MatrixClient;
let synapseClient: MatrixClient;
let synapseToken: string;
let synapseUser: string;
const deviceId = 'REMOTEDEV';
const suffix = Date.now().toString(36);

beforeAll(async () => {
  peer = await startSynapsePeer();
  strata = await startStrataBesideSynapse();
  strataClient = new MatrixClient(strata.url);
  strataToken = (await strataClient.register(`local${suffix}`)).accessToken;

  synapseClient = new MatrixClient(peer.clientUrl);
  synapseUser = (await synapseClient.registerWithSharedSecret(peer.sharedSecret, `remote${suffix}`)).userId;
  // A login with a chosen device id, so the keys below belong to a device we name.
  synapseToken = (await synapseClient.login(synapseUser, { deviceId })).accessToken;
}, 240_000);

afterAll(async () => {
  await strata?.stop();
  await peer?.stop();
}, 120_000);

describe('client lookups of another server through federation', () => {
  it('returns a Synapse user\'s profile and its fields', async () => {
    await synapseClient.ok('PUT', `/profile/${encodeURIComponent(synapseUser)}/displayname`, { token: synapseToken, json: { displayname: 'Remote Rita' } });
    const profile = await strataClient.ok('GET', `/profile/${encodeURIComponent(synapseUser)}`, { token: strataToken });
    expect(profile).toMatchObject({ displayname: 'Remote Rita' });
    expect(await strataClient.ok('GET', `/profile/${encodeURIComponent(synapseUser)}/displayname`, { token: strataToken }))
      .toEqual({ displayname: 'Remote Rita' });
    // Synapse's 404 for a user it does not have reaches the client as is.
    await strataClient.fails('GET', `/profile/${encodeURIComponent(`@nobody${suffix}:${peer.serverName}`)}`, { status: 404, errcode: 'M_NOT_FOUND' }, { token: strataToken });
  });

  it('resolves a Synapse room alias', async () => {
    const created = await synapseClient.ok('POST', '/createRoom', { token: synapseToken, json: { room_alias_name: `alias${suffix}`, preset: 'public_chat' } });
    const alias = `#alias${suffix}:${peer.serverName}`;
    const found = await strataClient.ok('GET', `/directory/room/${encodeURIComponent(alias)}`, { token: strataToken });
    expect(found).toEqual({ room_id: created.room_id, servers: expect.arrayContaining([peer.serverName]) });
    await strataClient.fails('GET', `/directory/room/${encodeURIComponent(`#missing${suffix}:${peer.serverName}`)}`, { status: 404, errcode: 'M_NOT_FOUND' }, { token: strataToken });
  });

  it('lists Synapse\'s public rooms with ?server=, with a search term too', async () => {
    const created = await synapseClient.ok('POST', '/createRoom', {
      token: synapseToken, json: { name: `Listed ${suffix}`, preset: 'public_chat', visibility: 'public' },
    });
    const listed = await strataClient.ok('GET', '/publicRooms', { token: strataToken, query: { server: peer.serverName, limit: '100' } });
    expect(listed.chunk).toEqual(expect.arrayContaining([expect.objectContaining({ room_id: created.room_id, name: `Listed ${suffix}` })]));
    const searched = await strataClient.ok('POST', '/publicRooms', {
      token: strataToken, query: { server: peer.serverName }, json: { filter: { generic_search_term: `Listed ${suffix}` } },
    });
    expect((searched.chunk as { room_id: string }[]).map((room) => room.room_id)).toEqual([created.room_id]);
  });

  it('queries and claims the keys a Synapse user uploaded', async () => {
    const deviceKeys = {
      user_id: synapseUser, device_id: deviceId, algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
      keys: { [`curve25519:${deviceId}`]: 'Q1VSVkVfS0VZX0ZPUl9JTlRFUk9QX1RFU1RTXzAwMDA', [`ed25519:${deviceId}`]: 'RUQyNTUxOV9LRVlfRk9SX0lOVEVST1BfVEVTVFNfMDAwMA' },
      signatures: { [synapseUser]: { [`ed25519:${deviceId}`]: 'c2lnbmF0dXJlIG9mIHRoZSBkZXZpY2Uga2V5cyBmb3IgdGhlIGludGVyb3AgdGVzdA' } },
    };
    const oneTimeKey = { key: 'T05FX1RJTUVfS0VZX0ZPUl9USEVfSU5URVJPUF9URVNUMA', signatures: { [synapseUser]: { [`ed25519:${deviceId}`]: 'b3RrIHNpZ25hdHVyZQ' } } };
    await synapseClient.ok('POST', '/keys/upload', {
      token: synapseToken, json: { device_keys: deviceKeys, one_time_keys: { 'signed_curve25519:AAAAAQ': oneTimeKey } },
    });

    const query = await strataClient.ok('POST', '/keys/query', { token: strataToken, json: { device_keys: { [synapseUser]: [] }, timeout: 20_000 } });
    expect(query.failures).toEqual({});
    expect((query.device_keys as Record<string, Record<string, unknown>>)[synapseUser]![deviceId]).toMatchObject(deviceKeys);

    const claim = await strataClient.ok('POST', '/keys/claim', {
      token: strataToken, json: { one_time_keys: { [synapseUser]: { [deviceId]: 'signed_curve25519' } }, timeout: 20_000 },
    });
    expect(claim).toEqual({ one_time_keys: { [synapseUser]: { [deviceId]: { 'signed_curve25519:AAAAAQ': oneTimeKey } } }, failures: {} });
  });
});
