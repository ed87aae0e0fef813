/**
 * The RemoteServers adapter over a fake federation client: the requests it makes, what it keeps of
 * an answer (only the asked server's own users, only objects where the spec has objects), and the
 * client-facing error each kind of failure becomes.
 */
import { describe, expect, it } from 'vitest';
import { MatrixError, type JsonObject, type JsonValue } from '../../domain/index.ts';
import { FederationClientError, FederationHttpError, type FederationRequestOptions } from './client/index.ts';
import { createRemoteServers } from './remoteServers.ts';

interface Sent { destination: string; method: string; path: string; body: JsonValue | undefined; options: FederationRequestOptions | undefined }

const fake = (answer: (sent: Sent) => JsonValue | Promise<JsonValue>) => {
  const sent: Sent[] = [];
  const remote = createRemoteServers({
    client: {
      request: async (destination, method, path, body, options) => {
        const request = { destination, method, path, body, options };
        sent.push(request);
        return answer(request);
      },
    },
    queryTimeoutMs: 1_234,
  });
  return { remote, sent };
};

const failure = async (promise: Promise<unknown>): Promise<MatrixError> => {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(MatrixError);
  return error as MatrixError;
};

describe('remote servers adapter', () => {
  it('asks for a profile field with the query parameters and keeps only that field', async () => {
    const { remote, sent } = fake(() => ({ displayname: 'Bo', avatar_url: 'mxc://b/c' }));
    expect(await remote.queryProfile('b.example', '@bo:b.example', 'displayname')).toEqual({ displayname: 'Bo' });
    expect(sent[0]).toMatchObject({
      destination: 'b.example', method: 'GET',
      path: '/_matrix/federation/v1/query/profile?user_id=%40bo%3Ab.example&field=displayname', options: { timeoutMs: 1_234 },
    });
  });

  it('refuses a profile whose display name is not a string', async () => {
    const { remote } = fake(() => ({ displayname: { evil: true } }));
    expect(await failure(remote.queryProfile('b.example', '@bo:b.example'))).toMatchObject({ status: 502, errcode: 'M_UNKNOWN' });
  });

  it('checks an alias answer and drops servers that are not server names', async () => {
    const { remote } = fake(() => ({ room_id: '!r:b.example', servers: ['b.example', 'not a server', 7, 'b.example', 'c.example:8448'] }));
    expect(await remote.queryDirectory('b.example', '#a:b.example')).toEqual({ roomId: '!r:b.example', servers: ['b.example', 'c.example:8448'] });
    const bad = fake(() => ({ room_id: 'no', servers: [] }));
    expect(await failure(bad.remote.queryDirectory('b.example', '#a:b.example'))).toMatchObject({ status: 502 });
  });

  it('keeps keys of the asked server\'s own users and devices only', async () => {
    const { remote, sent } = fake(() => ({
      device_keys: {
        '@bo:b.example': { D1: { device_id: 'D1' }, D2: { device_id: 'D2' }, D3: 'not an object' },
        '@eve:c.example': { E: { device_id: 'E' } },
        '@unasked:b.example': { U: { device_id: 'U' } },
      },
      master_keys: { '@bo:b.example': { usage: ['master'] }, '@eve:c.example': { usage: ['master'] } },
      self_signing_keys: { '@bo:b.example': 'not an object' },
    }));
    const answer = await remote.queryKeys('b.example', { '@bo:b.example': ['D1', 'D3'] }, 700);
    expect(answer).toEqual({ deviceKeys: { '@bo:b.example': { D1: { device_id: 'D1' } } }, masterKeys: { '@bo:b.example': { usage: ['master'] } }, selfSigningKeys: {} });
    expect(sent[0]).toMatchObject({ method: 'POST', path: '/_matrix/federation/v1/user/keys/query', body: { device_keys: { '@bo:b.example': ['D1', 'D3'] } }, options: { timeoutMs: 700 } });
  });

  it('keeps claimed keys of the devices asked for', async () => {
    const { remote } = fake(() => ({
      one_time_keys: {
        '@bo:b.example': { D1: { 'signed_curve25519:AA': { key: 'k' }, junk: { key: 'x' } }, D9: { 'signed_curve25519:BB': { key: 'k' } } },
        '@eve:c.example': { E: { 'signed_curve25519:CC': { key: 'k' } } },
      },
    }));
    expect(await remote.claimKeys('b.example', { '@bo:b.example': { D1: 'signed_curve25519' } }, 500))
      .toEqual({ '@bo:b.example': { D1: { 'signed_curve25519:AA': { key: 'k' } } } });
  });

  it('lists public rooms with GET, or POST when filtered, and bounds the page', async () => {
    const rooms = Array.from({ length: 5 }, (_, i) => ({ room_id: `!r${i}:b.example`, num_joined_members: 1 }));
    const { remote, sent } = fake(() => ({ chunk: [...rooms, 'junk'], next_batch: 'n', total_room_count_estimate: 9 }));
    expect(await remote.publicRooms('b.example', { limit: 3, since: 's' }))
      .toEqual({ chunk: rooms.slice(0, 3), next_batch: 'n', total_room_count_estimate: 9 });
    expect(sent[0]).toMatchObject({ method: 'GET', path: '/_matrix/federation/v1/publicRooms?limit=3&since=s' });
    await remote.publicRooms('b.example', { limit: 3, searchTerm: 'cats', roomTypes: [null] });
    expect(sent[1]).toMatchObject({ method: 'POST', body: { limit: 3, filter: { generic_search_term: 'cats', room_types: [null] } } });
  });

  it('answers 504 once the deadline passes, however long finding the server takes', async () => {
    const { remote } = fake(() => new Promise<JsonValue>(() => undefined));
    const started = Date.now();
    const error = await failure(remote.queryKeys('b.example', { '@bo:b.example': [] }, 50));
    expect(error).toMatchObject({ status: 504 });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('turns failures into the errors a client is given', async () => {
    const answering = (error: Error) => fake(() => { throw error; }).remote;
    const notFound = new FederationHttpError('b.example', 404, { errcode: 'M_NOT_FOUND', error: 'Profile was not found' } as JsonObject);
    expect(await failure(answering(notFound).queryProfile('b.example', '@x:b.example'))).toMatchObject({ status: 404, errcode: 'M_NOT_FOUND', message: 'Profile was not found' });
    expect(await failure(answering(new FederationHttpError('b.example', 500, undefined)).queryProfile('b.example', '@x:b.example')))
      .toMatchObject({ status: 502, errcode: 'M_UNKNOWN' });
    expect(await failure(answering(new FederationClientError('timeout', 'slow')).queryProfile('b.example', '@x:b.example')))
      .toMatchObject({ status: 504 });
    expect(await failure(answering(new FederationClientError('connect', 'refused')).queryProfile('b.example', '@x:b.example')))
      .toMatchObject({ status: 502 });
    expect(await failure(answering(new FederationClientError('denied', 'no')).queryProfile('b.example', '@x:b.example')))
      .toMatchObject({ status: 403, errcode: 'M_FORBIDDEN' });
    const { remote, sent } = fake(() => ({}));
    expect(await failure(remote.queryProfile('not a server', '@x:b.example'))).toMatchObject({ status: 400 });
    expect(sent).toEqual([]);
  });
});
