// The key ring against real PostgreSQL, with the outbound fetch replaced by servers made of the
// domain's own key documents: fetching, caching (memory and table), restarts, refetch rules, rate
// limits, notaries, and the notary's view of the cache.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ownServerKeys, signingKeyFromSeed, signJson, type JsonObject, type KeyRing, type SigningKey,
} from '../../../domain/index.ts';
import { openTestSchema, type TestSchema } from '../../../test/harness/index.ts';
import { createRemoteKeyRing, ensureRemoteServerKeysSchema, type NotaryServer } from './remoteKeyRing.ts';

const NOW = 1_700_000_000_000;
const DAY = 24 * 60 * 60 * 1000;
const MINUTE = 60_000;
const keyOf = (serverName: string, version: string): SigningKey => signingKeyFromSeed(serverName, `ed25519:${version}`, randomBytes(32));

const own = keyOf('own.test', 'me');
const notaryKey = keyOf('notary.test', 'n1');

let schema: TestSchema;
let clock = NOW;
/** What each server answers, by `serverName path`; a missing entry is an unreachable server. */
let routes: Map<string, () => JsonObject>;
let calls: string[];

const fetchJson = async (serverName: string, path: string): Promise<JsonObject> => {
  calls.push(`${serverName} ${path}`);
  const route = routes.get(`${serverName} ${path.split('?')[0]}`);
  if (route === undefined) throw new Error(`connect ECONNREFUSED (${serverName})`);
  return route();
};

const keyRing = (options: { notaries?: readonly NotaryServer[] } = {}): KeyRing => createRemoteKeyRing({
  db: schema.db, fetchJson, now: () => clock, ownKeys: () => ({ current: own, old: [] }),
  ...(options.notaries === undefined ? {} : { trustedKeyServers: options.notaries }),
});

/** A server publishing `key` with documents valid for `validForMs` from the clock. */
const publish = (serverName: string, key: SigningKey, validForMs = DAY): void => {
  routes.set(`${serverName} /_matrix/key/v2/server`, () => ownServerKeys(key, [], clock + validForMs));
};

beforeAll(async () => {
  schema = await openTestSchema('remote_keys');
  await ensureRemoteServerKeysSchema(schema.db);
});
afterAll(() => schema?.drop());
beforeEach(async () => {
  await schema.db.query('DELETE FROM remote_server_keys');
  clock = NOW;
  routes = new Map();
  calls = [];
});

describe('the key ring', () => {
  it('fetches a key from its server, then answers from memory, and from the table after a restart', async () => {
    const remote = keyOf('remote.test', 'r1');
    publish('remote.test', remote);
    const ring = keyRing();
    const query = { serverName: 'remote.test', keyId: remote.keyId, validAt: NOW };
    expect(await ring.verifyKey(query)).toEqual({ found: true, publicKeyBase64: remote.publicKeyBase64, validUntilTs: NOW + DAY });
    expect(await ring.verifyKey(query)).toMatchObject({ found: true });
    expect(calls).toEqual(['remote.test /_matrix/key/v2/server']);

    const { rows } = await schema.db.query<{ server_name: string; key_id: string; public_key: string; valid_until_ts: unknown; fetched_ts: unknown }>(
      'SELECT server_name, key_id, public_key, valid_until_ts, fetched_ts FROM remote_server_keys',
    );
    expect(rows.map((row) => ({ ...row, valid_until_ts: Number(row.valid_until_ts), fetched_ts: Number(row.fetched_ts) }))).toEqual([{
      server_name: 'remote.test', key_id: remote.keyId, public_key: remote.publicKeyBase64, valid_until_ts: NOW + DAY, fetched_ts: NOW,
    }]);

    routes.clear();
    const restarted = keyRing();
    expect(await restarted.verifyKey(query)).toEqual({ found: true, publicKeyBase64: remote.publicKeyBase64, validUntilTs: NOW + DAY });
    expect(calls).toHaveLength(1);
  });

  it('fetches several concurrent lookups for one server once', async () => {
    const remote = keyOf('remote.test', 'r1');
    publish('remote.test', remote);
    const ring = keyRing();
    const answers = await Promise.all(Array.from({ length: 5 }, () => ring.verifyKey({ serverName: 'remote.test', keyId: remote.keyId, validAt: NOW })));
    expect(answers.every((answer) => answer.found)).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('refetches when the cached key is not valid long enough, at most once a minute', async () => {
    const remote = keyOf('remote.test', 'r1');
    publish('remote.test', remote, 10 * MINUTE);
    const ring = keyRing();
    await ring.verifyKey({ serverName: 'remote.test', keyId: remote.keyId, validAt: NOW });
    // An event from after the cached validity: the server is asked again and its new document counts.
    clock += 2 * MINUTE;
    publish('remote.test', remote, DAY);
    expect(await ring.verifyKey({ serverName: 'remote.test', keyId: remote.keyId, validAt: NOW + 20 * MINUTE }))
      .toEqual({ found: true, publicKeyBase64: remote.publicKeyBase64, validUntilTs: clock + DAY });
    expect(calls).toHaveLength(2);
    // Beyond even that (and beyond the 7-day cap): expired, and the server, asked just now, is not
    // asked again within the minute.
    expect(await ring.verifyKey({ serverName: 'remote.test', keyId: remote.keyId, validAt: NOW + 30 * DAY }))
      .toMatchObject({ found: false, reason: 'expired' });
    expect(calls).toHaveLength(2);
    clock += 2 * MINUTE;
    expect(await ring.verifyKey({ serverName: 'remote.test', keyId: remote.keyId, validAt: NOW + 30 * DAY }))
      .toMatchObject({ found: false, reason: 'expired' });
    expect(calls).toHaveLength(3);
  });

  it('caps a key\'s validity at 7 days after it was fetched', async () => {
    const remote = keyOf('remote.test', 'r1');
    publish('remote.test', remote, 365 * DAY);
    expect(await keyRing().verifyKey({ serverName: 'remote.test', keyId: remote.keyId, validAt: 0 }))
      .toMatchObject({ found: true, validUntilTs: NOW + 7 * DAY });
  });

  it('does not repeat a failed fetch within a minute', async () => {
    const ring = keyRing();
    const query = { serverName: 'down.test', keyId: 'ed25519:x', validAt: 0 };
    expect(await ring.verifyKey(query)).toMatchObject({ found: false, reason: 'unreachable', detail: expect.stringContaining('ECONNREFUSED') });
    clock += 59_000;
    expect(await ring.verifyKey(query)).toMatchObject({ found: false, reason: 'unreachable' });
    expect(calls).toHaveLength(1);
    clock += 2_000;
    publish('down.test', keyOf('down.test', 'x'));
    expect(await ring.verifyKey(query)).toMatchObject({ found: true });
    expect(calls).toHaveLength(2);
  });

  it('says unknown_key when the server answers without the key', async () => {
    publish('remote.test', keyOf('remote.test', 'r1'));
    expect(await keyRing().verifyKey({ serverName: 'remote.test', keyId: 'ed25519:nope', validAt: 0 }))
      .toMatchObject({ found: false, reason: 'unknown_key' });
  });

  it('refuses a document that names another server, or is not signed by its keys', async () => {
    const impostor = keyOf('evil.test', 'r1');
    routes.set('remote.test /_matrix/key/v2/server', () => ownServerKeys(impostor, [], clock + DAY));
    expect(await keyRing().verifyKey({ serverName: 'remote.test', keyId: 'ed25519:r1', validAt: 0 }))
      .toMatchObject({ found: false, reason: 'unreachable', detail: expect.stringContaining('not the server asked about') });
    const remote = keyOf('remote.test', 'r1');
    routes.set('other.test /_matrix/key/v2/server', () => ({ ...ownServerKeys(remote, [], clock + DAY), server_name: 'other.test' }));
    expect(await keyRing().verifyKey({ serverName: 'other.test', keyId: 'ed25519:r1', validAt: 0 }))
      .toMatchObject({ found: false, reason: 'unreachable', detail: expect.stringContaining('not signed') });
    const { rows } = await schema.db.query('SELECT 1 FROM remote_server_keys');
    expect(rows).toHaveLength(0);
  });

  it('answers our own keys without fetching', async () => {
    expect(await keyRing().verifyKey({ serverName: 'own.test', keyId: own.keyId, validAt: NOW }))
      .toMatchObject({ found: true, publicKeyBase64: own.publicKeyBase64 });
    expect(calls).toEqual([]);
  });

  it('asks a trusted notary when the server does not answer: with configured keys, or the notary\'s published ones', async () => {
    const remote = keyOf('remote.test', 'r1');
    const notarised = () => ({ server_keys: [signJson(ownServerKeys(remote, [], clock + DAY), notaryKey)] });
    routes.set('notary.test /_matrix/key/v2/query/remote.test', notarised);
    const query = { serverName: 'remote.test', keyId: remote.keyId, validAt: NOW };
    const configured = keyRing({ notaries: [{ serverName: 'notary.test', verifyKeys: { [notaryKey.keyId]: notaryKey.publicKeyBase64 } }] });
    expect(await configured.verifyKey(query)).toMatchObject({ found: true, publicKeyBase64: remote.publicKeyBase64 });
    expect(calls).toEqual([
      'remote.test /_matrix/key/v2/server',
      `notary.test /_matrix/key/v2/query/remote.test?minimum_valid_until_ts=${NOW}`,
    ]);

    await schema.db.query('DELETE FROM remote_server_keys');
    calls = [];
    publish('notary.test', notaryKey);
    expect(await keyRing({ notaries: [{ serverName: 'notary.test' }] }).verifyKey(query)).toMatchObject({ found: true });
    expect(calls).toContain('notary.test /_matrix/key/v2/server');
  });

  it('does not take a notary\'s word without its signature by a trusted key', async () => {
    const remote = keyOf('remote.test', 'r1');
    const other = keyOf('notary.test', 'n1');
    routes.set('notary.test /_matrix/key/v2/query/remote.test',
      () => ({ server_keys: [signJson(ownServerKeys(remote, [], clock + DAY), other)] }));
    const ring = keyRing({ notaries: [{ serverName: 'notary.test', verifyKeys: { [notaryKey.keyId]: notaryKey.publicKeyBase64 } }] });
    expect(await ring.verifyKey({ serverName: 'remote.test', keyId: remote.keyId, validAt: 0 }))
      .toMatchObject({ found: false, reason: 'unreachable', detail: expect.stringContaining('not signed by the notary') });
  });
});

describe('the key ring as a notary\'s cache', () => {
  it('returns the server\'s document as it signed it, refreshed for a later minimum_valid_until_ts, kept when the server goes away', async () => {
    const remote = keyOf('remote.test', 'r1');
    publish('remote.test', remote, DAY);
    const ring = keyRing();
    const [first] = await ring.serverKeyDocuments('remote.test', [], NOW);
    expect(first).toEqual(ownServerKeys(remote, [], NOW + DAY));
    expect(await ring.serverKeyDocuments('remote.test', [remote.keyId], NOW + DAY)).toEqual([first]);
    expect(calls).toHaveLength(1);

    clock += 2 * MINUTE;
    const [second] = await ring.serverKeyDocuments('remote.test', [], NOW + 2 * DAY);
    expect(second?.valid_until_ts).toBe(clock + DAY);
    expect(calls).toHaveLength(2);

    routes.clear();
    clock += 2 * MINUTE;
    expect(await keyRing().serverKeyDocuments('remote.test', [], clock + 5 * DAY)).toEqual([second]);
    expect(await keyRing().serverKeyDocuments('never.test', [], clock)).toEqual([]);
  });
});
