import { describe, expect, it } from 'vitest';
import { parseRegistration, parseThirdPartyInstanceId, thirdPartyInstanceId, type AppserviceRegistration } from '../../appservices/index.ts';
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import { AppserviceRequestError, type AppserviceClient, type AppserviceFailure } from '../../ports/appservices.ts';
import { createAppservices, resolveAliasAskingBridges } from './index.ts';
import type { AppservicesContext } from './context.ts';
import { isThirdPartyMatch, mergeProtocolAnswers, withInstanceIds } from './thirdParty.ts';

const SERVER = 'example.org';

const registration = (id: string, extra: Record<string, unknown> = {}): AppserviceRegistration => parseRegistration({
  id, url: `http://127.0.0.1/${id}`, as_token: `as_${id}`, hs_token: `hs_${id}`, sender_localpart: `${id}bot`,
  namespaces: { users: [{ regex: `@${id}_.*`, exclusive: true }], aliases: [{ regex: `#${id}_.*`, exclusive: true }] },
  ...extra,
}, SERVER, `${id}.yaml`);

/** A client whose answers the test sets per bridge; records every call. */
const fakeClient = (answers: {
  protocol?: (id: string, protocol: string) => JsonObject | undefined;
  lookup?: (id: string, kind: string, protocol: string | undefined, query: Readonly<Record<string, string>>) => JsonObject[];
  user?: (id: string, userId: string) => boolean;
  alias?: (id: string, alias: string) => boolean;
  ping?: (id: string) => AppserviceFailure | undefined;
} = {}) => {
  const calls: string[] = [];
  const client: AppserviceClient = {
    sendTransaction: async () => undefined,
    queryUser: async (r, userId) => { calls.push(`user ${r.id} ${userId}`); return answers.user?.(r.id, userId) ?? false; },
    queryAlias: async (r, alias) => { calls.push(`alias ${r.id} ${alias}`); return answers.alias?.(r.id, alias) ?? false; },
    ping: async (r, txnId) => {
      calls.push(`ping ${r.id} ${txnId ?? '-'}`);
      const failure = answers.ping?.(r.id);
      if (failure !== undefined) throw new AppserviceRequestError(failure);
    },
    thirdPartyProtocol: async (r, protocol) => { calls.push(`protocol ${r.id} ${protocol}`); return answers.protocol?.(r.id, protocol); },
    thirdPartyLookup: async (r, kind, protocol, query) => {
      calls.push(`${kind} ${r.id} ${protocol ?? '-'} ${JSON.stringify(query)}`);
      return answers.lookup?.(r.id, kind, protocol, query) ?? [];
    },
  };
  return { client, calls };
};

const contextOf = (registrations: AppserviceRegistration[], client: AppserviceClient, now = { t: 0 }) => {
  const published: string[] = [];
  const ctx: AppservicesContext = {
    serverName: SERVER, registrations, client, clock: { now: () => now.t },
    directory: { setNetworkVisibility: async (...args) => { published.push(args.join(' ')); } },
  };
  return { appservices: createAppservices(ctx), published };
};

const errorOf = async (promise: Promise<unknown>): Promise<MatrixError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MatrixError);
    return error as MatrixError;
  }
  throw new Error('expected a MatrixError');
};

const protocolInfo = (network: string): JsonObject => ({
  user_fields: ['nick'], location_fields: ['channel'], icon: 'mxc://example.org/icon', field_types: {},
  instances: [{ desc: network, fields: {}, network_id: network }],
});

describe('third-party instance ids', () => {
  it('are appserviceId|networkId, and anything else is no instance', () => {
    expect(thirdPartyInstanceId('irc', 'libera')).toBe('irc|libera');
    expect(parseThirdPartyInstanceId('irc|libera')).toEqual({ appserviceId: 'irc', networkId: 'libera' });
    expect(parseThirdPartyInstanceId('irc')).toBeUndefined();
    expect(parseThirdPartyInstanceId('a|b|c')).toBeUndefined();
  });
});

describe('third-party protocols', () => {
  it('gives each instance with a network its instance id, and refuses an answer without instances', () => {
    const info = withInstanceIds('irc', { instances: [{ network_id: 'libera', desc: 'L' }, { desc: 'no network' }] });
    expect(info?.instances).toEqual([{ network_id: 'libera', desc: 'L', instance_id: 'irc|libera' }, { desc: 'no network' }]);
    expect(withInstanceIds('irc', { user_fields: [] })).toBeUndefined();
    expect(withInstanceIds('irc', { instances: {} })).toBeUndefined();
    expect(withInstanceIds('irc', undefined)).toBeUndefined();
  });

  it('merges the instances of every bridge under the first bridge\'s fields', () => {
    const merged = mergeProtocolAnswers([{ icon: 'a', instances: [{ network_id: '1' }] }, { icon: 'b', instances: [{ network_id: '2' }] }]);
    expect(merged).toEqual({ icon: 'a', instances: [{ network_id: '1' }, { network_id: '2' }] });
    expect(mergeProtocolAnswers([])).toBeUndefined();
  });

  it('asks only the bridges of the protocol, lists what they describe, 404 for the rest', async () => {
    const irc1 = registration('irca', { protocols: ['irc'] });
    const irc2 = registration('ircb', { protocols: ['irc', 'silent'] });
    const nourl = registration('gone', { protocols: ['irc'], url: null });
    const { client, calls } = fakeClient({ protocol: (id, protocol) => (protocol === 'irc' ? protocolInfo(`${id}-net`) : undefined) });
    const { appservices } = contextOf([irc1, irc2, nourl, registration('slack')], client);
    const all = await appservices.protocols();
    expect(Object.keys(all)).toEqual(['irc']);
    expect((all.irc as JsonObject).instances).toEqual([
      { desc: 'irca-net', fields: {}, network_id: 'irca-net', instance_id: 'irca|irca-net' },
      { desc: 'ircb-net', fields: {}, network_id: 'ircb-net', instance_id: 'ircb|ircb-net' },
    ]);
    expect(calls.sort()).toEqual(['protocol irca irc', 'protocol ircb irc', 'protocol ircb silent']);
    expect(await errorOf(appservices.protocol('silent'))).toMatchObject({ errcode: 'M_NOT_FOUND', status: 404 });
    expect(await errorOf(appservices.protocol('xmpp'))).toMatchObject({ errcode: 'M_NOT_FOUND', status: 404 });
  });

  it('keeps a bridge\'s answer an hour and a failure a minute, sharing a call in flight', async () => {
    const now = { t: 0 };
    let up = false;
    const { client, calls } = fakeClient({ protocol: () => (up ? protocolInfo('net') : undefined) });
    const { appservices } = contextOf([registration('irc', { protocols: ['irc'] })], client, now);
    await Promise.all([appservices.protocols(), appservices.protocols()]);
    expect(calls).toHaveLength(1);
    up = true;
    now.t = 59_000;
    expect(await appservices.protocols()).toEqual({});
    now.t = 61_000;
    expect(Object.keys(await appservices.protocol('irc'))).toContain('instances');
    expect(calls).toHaveLength(2);
    now.t = 61_000 + 3_599_000;
    await appservices.protocol('irc');
    expect(calls).toHaveLength(2);
    now.t = 61_000 + 3_601_000;
    await appservices.protocol('irc');
    expect(calls).toHaveLength(3);
  });
});

describe('third-party lookups', () => {
  const location = (alias: string, protocol = 'irc'): JsonObject => ({ alias, protocol, fields: { channel: alias } });

  it('keeps only matches in the spec\'s shape', () => {
    expect(isThirdPartyMatch('location', location('#a:x'))).toBe(true);
    expect(isThirdPartyMatch('location', { alias: '#a:x', protocol: 'irc' })).toBe(false);
    expect(isThirdPartyMatch('user', { userid: '@a:x', protocol: 'irc', fields: {} })).toBe(true);
    expect(isThirdPartyMatch('user', { userid: 5, protocol: 'irc', fields: {} })).toBe(false);
  });

  it('merges what every bridge of the protocol finds, and asks every bridge for a reverse lookup', async () => {
    const { client, calls } = fakeClient({
      lookup: (id, kind) => (kind === 'location' ? [location(`#${id}:x`), { alias: 'broken' }] : []),
    });
    const { appservices } = contextOf([registration('irca', { protocols: ['irc'] }), registration('ircb', { protocols: ['irc'] }), registration('slack')], client);
    expect(await appservices.lookup('location', 'irc', { channel: 'x' })).toEqual([location('#irca:x'), location('#ircb:x')]);
    expect(calls.every((call) => !call.includes('slack'))).toBe(true);
    calls.length = 0;
    expect(await appservices.lookup('location', undefined, { alias: '#x:example.org' })).toHaveLength(3);
    expect(calls.map((call) => call.split(' ')[1]).sort()).toEqual(['irca', 'ircb', 'slack']);
    calls.length = 0;
    expect(await appservices.lookup('user', undefined, {})).toEqual([]);
    expect(calls).toEqual([]);
  });
});

describe('queries on unknown ids', () => {
  it('asks the bridges whose namespace holds this server\'s alias, in order, until one says yes', async () => {
    const { client, calls } = fakeClient({ alias: (id) => id === 'second' });
    const shared = { namespaces: { aliases: [{ regex: '#br_.*', exclusive: false }] } };
    const { appservices } = contextOf([registration('first', shared), registration('second', shared), registration('third', shared)], client);
    expect(await appservices.queryAlias('#br_room:example.org')).toBe(true);
    expect(calls).toEqual(['alias first #br_room:example.org', 'alias second #br_room:example.org']);
    calls.length = 0;
    expect(await appservices.queryAlias('#br_room:other.org')).toBe(false);
    expect(await appservices.queryAlias('#else:example.org')).toBe(false);
    expect(calls).toEqual([]);
  });

  it('asks about users of the namespace, never about a bridge\'s own user, and shares concurrent questions', async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const { client, calls } = fakeClient({ user: () => true });
    const slow: AppserviceClient = { ...client, queryUser: async (r, userId) => { await gate; return client.queryUser(r, userId); } };
    const { appservices } = contextOf([registration('irc')], slow);
    const both = Promise.all([appservices.queryUser('@irc_bob:example.org'), appservices.queryUser('@irc_bob:example.org')]);
    release?.();
    expect(await both).toEqual([true, true]);
    expect(calls).toEqual(['user irc @irc_bob:example.org']);
    expect(await appservices.queryUser('@ircbot:example.org')).toBe(false);
    expect(await appservices.queryUser('@alice:example.org')).toBe(false);
    expect(await appservices.queryUser('@irc_bob:other.org')).toBe(false);
    expect(calls).toHaveLength(1);
  });

  it('resolves an alias again once a bridge created it', async () => {
    const rooms = new Map<string, { roomId: string }>();
    const directory = { resolveAlias: async (alias: string) => rooms.get(alias) };
    const queries = {
      queryAlias: async (alias: string) => { rooms.set(alias, { roomId: '!portal:example.org' }); return true; },
      queryUser: async () => false,
    };
    expect(await resolveAliasAskingBridges(directory, undefined, '#irc_x:example.org')).toBeUndefined();
    expect(await resolveAliasAskingBridges(directory, queries, '#irc_x:example.org')).toEqual({ roomId: '!portal:example.org' });
    const refusing = { queryAlias: async () => false, queryUser: async () => false };
    expect(await resolveAliasAskingBridges(directory, refusing, '#irc_y:example.org')).toBeUndefined();
  });
});

describe('ping', () => {
  const failing = (failure: AppserviceFailure | undefined) => {
    const { client, calls } = fakeClient({ ping: () => failure });
    const irc = registration('irc');
    return { ...contextOf([irc, registration('nourl', { url: null })], client), irc, calls };
  };

  it('answers the duration, passing the transaction id on', async () => {
    const { appservices, irc, calls } = failing(undefined);
    expect(await appservices.ping(irc, 'irc', 'txn1')).toEqual({ duration_ms: 0 });
    expect(calls).toEqual(['ping irc txn1']);
  });

  it('is only for the bridge named in the path, with a url', async () => {
    const { appservices, irc } = failing(undefined);
    expect(await errorOf(appservices.ping(undefined, 'irc', undefined))).toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    expect(await errorOf(appservices.ping(irc, 'slack', undefined))).toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    expect(await errorOf(appservices.ping(registration('nourl', { url: null }), 'nourl', undefined)))
      .toMatchObject({ errcode: 'M_URL_NOT_SET', status: 400 });
  });

  it('tells the sender a bridge that answered, and only one that answered', async () => {
    const reachable: string[] = [];
    const irc = registration('irc');
    for (const failure of [undefined, { kind: 'unreachable', timedOut: false, detail: 'x' } as const]) {
      const { client } = fakeClient({ ping: () => failure });
      const appservices = createAppservices({
        serverName: SERVER, registrations: [irc], client, clock: { now: () => 0 },
        directory: { setNetworkVisibility: async () => undefined }, onReachable: (id) => reachable.push(id),
      });
      await appservices.ping(irc, 'irc', undefined).catch(() => undefined);
    }
    expect(reachable).toEqual(['irc']);
  });

  it('tells an error status, a timeout and a failed connection apart', async () => {
    const status = failing({ kind: 'status', status: 401, body: '{"errcode":"M_UNKNOWN_TOKEN"}', detail: 'x' });
    expect(await errorOf(status.appservices.ping(status.irc, 'irc', undefined)))
      .toMatchObject({ errcode: 'M_BAD_STATUS', status: 502, extra: { status: 401, body: '{"errcode":"M_UNKNOWN_TOKEN"}' } });
    const timeout = failing({ kind: 'unreachable', timedOut: true, detail: 'x' });
    expect(await errorOf(timeout.appservices.ping(timeout.irc, 'irc', undefined))).toMatchObject({ errcode: 'M_CONNECTION_TIMEOUT', status: 504 });
    const refused = failing({ kind: 'unreachable', timedOut: false, detail: 'ECONNREFUSED' });
    expect(await errorOf(refused.appservices.ping(refused.irc, 'irc', undefined))).toMatchObject({ errcode: 'M_CONNECTION_FAILED', status: 502 });
  });
});

describe('network lists', () => {
  it('publish for bridges only, with a valid visibility, network and room id', async () => {
    const { client } = fakeClient();
    const irc = registration('irc');
    const { appservices, published } = contextOf([irc], client);
    await appservices.setNetworkVisibility(irc, 'libera', '!room:example.org', 'public');
    await appservices.setNetworkVisibility(irc, 'libera', '!room:example.org', 'private');
    expect(published).toEqual(['irc libera !room:example.org public', 'irc libera !room:example.org private']);
    expect(await errorOf(appservices.setNetworkVisibility(undefined, 'libera', '!room:example.org', 'public'))).toMatchObject({ errcode: 'M_FORBIDDEN' });
    expect(await errorOf(appservices.setNetworkVisibility(irc, 'libera', '!room:example.org', 'hidden'))).toMatchObject({ errcode: 'M_INVALID_PARAM' });
    expect(await errorOf(appservices.setNetworkVisibility(irc, 'a|b', '!room:example.org', 'public'))).toMatchObject({ errcode: 'M_INVALID_PARAM' });
    expect(await errorOf(appservices.setNetworkVisibility(irc, 'libera', 'room', 'public'))).toMatchObject({ errcode: 'M_INVALID_PARAM' });
    expect(published).toHaveLength(2);
  });
});
