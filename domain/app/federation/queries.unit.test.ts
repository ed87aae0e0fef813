// Inbound federation queries over fake ports: which servers a directory answer names and in what
// order, the profile's field semantics (query.yaml), and that a refused key claim uses up no key.
import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import type { FederationQueriesContext } from './context.ts';
import { createFederationQueries } from './index.ts';

const US = 'us.test';

const member = (userId: string, membership: string): StoredEvent =>
  ({ stateKey: userId, pdu: { type: 'm.room.member', state_key: userId, content: { membership } } }) as unknown as StoredEvent;

const context = (overrides: Partial<FederationQueriesContext> = {}): FederationQueriesContext => ({
  serverName: US,
  profiles: { getProfile: async (userId) => (userId === `@alice:${US}` ? { displayname: 'Alice', 'm.tz': 'Europe/Paris' } : undefined) },
  directory: { resolveAlias: async (alias) => (alias === `#lobby:${US}` ? { roomId: `!room:${US}`, creator: `@alice:${US}` } : undefined) },
  rooms: {
    members: async () => [
      member('@zed:zeta.test', 'join'), member(`@alice:${US}`, 'join'), member('@amy:alpha.test', 'join'),
      member('@zoe:zeta.test', 'join'), member('@lee:left.test', 'leave'), member('@ian:invited.test', 'invite'),
    ],
  },
  devices: { listDevices: async () => [] },
  keys: { getDeviceKeys: async () => new Map(), claim: async () => undefined, currentDeviceListPosition: async () => 7 },
  crossSigning: { getKeys: async () => ({}), signaturesOn: async () => [] },
  openIdUserInfo: async () => ({ sub: `@alice:${US}` }),
  publicRooms: async () => ({ chunk: [] }),
  ...overrides,
});

const errorOf = async (promise: Promise<unknown>): Promise<{ errcode: string; status: number }> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MatrixError) return { errcode: error.errcode, status: error.status };
    throw error;
  }
  throw new Error('no error');
};

describe('federation directory query', () => {
  it('names the servers of joined members once each, ours first, in the order members come', async () => {
    expect(await createFederationQueries(context()).queryDirectory(`#lobby:${US}`))
      .toEqual({ room_id: `!room:${US}`, servers: [US, 'zeta.test', 'alpha.test'] });
  });

  it('refuses aliases of other servers and answers 404 for unknown ones', async () => {
    const queries = createFederationQueries(context());
    expect(await errorOf(queries.queryDirectory('#lobby:elsewhere.test'))).toEqual({ errcode: 'M_INVALID_PARAM', status: 400 });
    expect(await errorOf(queries.queryDirectory(`#nothing:${US}`))).toEqual({ errcode: 'M_NOT_FOUND', status: 404 });
    expect(await errorOf(queries.queryDirectory('not an alias'))).toEqual({ errcode: 'M_INVALID_PARAM', status: 400 });
  });
});

describe('federation directory query of an alias a bridge holds', () => {
  it('asks the bridges, and answers the room the bridge created for it', async () => {
    const created = new Map<string, { roomId: string; creator: string }>();
    const asked: string[] = [];
    const queries = createFederationQueries(context({
      directory: { resolveAlias: async (alias) => created.get(alias) },
      bridgeQueries: {
        queryAlias: async (alias) => {
          asked.push(alias);
          if (alias !== `#irc_lobby:${US}`) return false;
          created.set(alias, { roomId: `!portal:${US}`, creator: `@ircbot:${US}` });
          return true;
        },
        queryUser: async () => false,
      },
    }));
    expect((await queries.queryDirectory(`#irc_lobby:${US}`)).room_id).toBe(`!portal:${US}`);
    expect(await errorOf(queries.queryDirectory(`#irc_none:${US}`))).toEqual({ errcode: 'M_NOT_FOUND', status: 404 });
    expect(asked).toEqual([`#irc_lobby:${US}`, `#irc_none:${US}`]);
  });
});

describe('federation profile query', () => {
  it('answers the whole profile, or only the named field', async () => {
    const queries = createFederationQueries(context());
    expect(await queries.queryProfile(`@alice:${US}`, undefined)).toEqual({ displayname: 'Alice', 'm.tz': 'Europe/Paris' });
    expect(await queries.queryProfile(`@alice:${US}`, 'm.tz')).toEqual({ 'm.tz': 'Europe/Paris' });
    expect(await errorOf(queries.queryProfile(`@alice:${US}`, 'avatar_url'))).toEqual({ errcode: 'M_NOT_FOUND', status: 404 });
    expect(await errorOf(queries.queryProfile('@alice:elsewhere.test', undefined))).toEqual({ errcode: 'M_INVALID_PARAM', status: 400 });
  });
});

describe('federation key claims', () => {
  it('checks every user before claiming anything', async () => {
    const claimed: string[] = [];
    const queries = createFederationQueries(context({
      keys: {
        getDeviceKeys: async () => new Map(), currentDeviceListPosition: async () => 1,
        claim: async (userId, deviceId) => { claimed.push(`${userId}/${deviceId}`); return { userId, deviceId, keyId: 'signed_curve25519:A', key: 'k' }; },
      },
    }));
    const body = { one_time_keys: { [`@alice:${US}`]: { DEV: 'signed_curve25519' }, '@bob:elsewhere.test': { DEV: 'signed_curve25519' } } };
    expect(await errorOf(queries.claimUserKeys(body))).toEqual({ errcode: 'M_INVALID_PARAM', status: 400 });
    expect(claimed).toEqual([]);
  });
});
