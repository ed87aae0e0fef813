// Conformance of the client-server endpoints a sweep of the spec's endpoint index found unrouted
// (registration_tokens.yaml, registration.yaml and password_management.yaml's requestToken,
// third_party_lookup.yaml, old_sync.yaml): every answer validated against the operation's schema.
// Exact answers are in gateways/client/discoveryAndLegacy.e2e.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Body, TestServer } from '../harness/index.ts';
import type { ConformingClient } from './conformance.ts';
import { room, startConformanceWorld } from './world.ts';

describe('client-server conformance: token validity, requestToken, third-party lookups, old sync (embedded)', () => {
  let server: TestServer;
  let anonymous: ConformingClient;
  let alice: ConformingClient;
  let hall: string;
  let hallMessage: string;

  beforeAll(async () => {
    ({ server, anonymous, alice, hall, hallMessage } = await startConformanceWorld());
  });
  afterAll(() => server?.stop());

  it('GET /v1/register/m.login.registration_token/validity: 200 { valid }', async () => {
    expect(await anonymous.get('/_matrix/client/v1/register/m.login.registration_token/validity', { token: 'fBVFdqVE' })).toEqual({ valid: false });
  });

  it('POST …/{email,msisdn}/requestToken: the 403 M_THREEPID_DENIED the spec documents', async () => {
    const email = { client_secret: 'monkeys_are_GREAT', email: 'alice@example.org', send_attempt: 1 };
    const phone = { client_secret: 'monkeys_are_GREAT', country: 'GB', phone_number: '07700900001', send_attempt: 1 };
    await anonymous.fails('POST', '/register/email/requestToken', { status: 403, errcode: 'M_THREEPID_DENIED' }, { json: email });
    await anonymous.fails('POST', '/register/msisdn/requestToken', { status: 403, errcode: 'M_THREEPID_DENIED' }, { json: phone });
    await anonymous.fails('POST', '/account/password/email/requestToken', { status: 403, errcode: 'M_THREEPID_DENIED' }, { json: email });
    await anonymous.fails('POST', '/account/password/msisdn/requestToken', { status: 403, errcode: 'M_THREEPID_DENIED' }, { json: phone });
  });

  it('third-party lookups: {} protocols, 404 M_NOT_FOUND for a protocol, [] for lookups', async () => {
    expect(await alice.get('/thirdparty/protocols')).toEqual({});
    await alice.fails('GET', '/thirdparty/protocol/irc', { status: 404, errcode: 'M_NOT_FOUND' });
    for (const path of ['/thirdparty/location/irc', '/thirdparty/user/irc']) expect(await alice.get(path)).toEqual([]);
    expect(await alice.get('/thirdparty/location', { alias: '#irc_#matrix:example.org' })).toEqual([]);
    expect(await alice.get('/thirdparty/user', { userid: '@irc_nick:example.org' })).toEqual([]);
  });

  it('GET /initialSync conforms, with the hall and its message', async () => {
    const answer = await alice.get('/initialSync', { limit: 5 });
    const hallRoom = (answer.rooms as Body[]).find((candidate) => candidate.room_id === hall);
    expect(hallRoom).toMatchObject({ membership: 'join', visibility: 'private' });
    expect(((hallRoom!.messages as Body).chunk as Body[]).map((event) => event.event_id)).toContain(hallMessage);
  });

  it('GET /events/{eventId} conforms; an unknown event is 404', async () => {
    expect((await alice.get(`/events/${encodeURIComponent(hallMessage)}`)).event_id).toBe(hallMessage);
    expect((await alice.get(room(hall, `/event/${encodeURIComponent(hallMessage)}`))).event_id).toBe(hallMessage);
    const unknown = await alice.request('GET', `/events/${encodeURIComponent('$nosuchevent')}`);
    expect({ status: unknown.status, errcode: unknown.body.errcode }).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
  });
});
