// Push rule paths over HTTP (pushrules.yaml), in both deployments: `GET /pushrules/global/{kind}/`
// lists the rules of one kind as Synapse serves it, and a path that names no rule — an unknown
// scope, kind or attribute, a missing rule id — answers M_UNRECOGNIZED as Synapse does (404, the
// spec's status for it, where the operation documents no 400), while a PUT of a rule of an unknown
// kind is Synapse's 400 M_UNKNOWN ("Unknown template") and a DELETE of one is 404 M_NOT_FOUND.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

const KINDS = ['override', 'content', 'room', 'sender', 'underride'] as const;

describe.each<ServerMode>(['embedded', 'distributed'])('push rule paths (%s)', (mode) => {
  let server: TestServer;
  let alice: UserClient;

  /**
   * `GET /pushrules/global/{kind}/` straight over fetch: the spec defines no such operation, and its
   * OpenAPI would judge the list as the one rule `getPushRule` answers (an empty `{ruleId}`).
   */
  const rulesOfKind = async (kind: string): Promise<{ status: number; body: Body }> => {
    const response = await fetch(`${server.url}/_matrix/client/v3/pushrules/global/${kind}/`, {
      headers: { authorization: `Bearer ${alice.session.accessToken}` },
    });
    return { status: response.status, body: await response.json() as Body };
  };

  beforeAll(async () => {
    server = await startTestServer({ mode });
    const client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
  });
  afterAll(() => server?.stop());

  it('lists the rules of each kind as the ruleset holds them, the user\'s own rules included', async () => {
    await alice.put('/pushrules/global/content/cake', { pattern: 'cake*lie', actions: ['notify'] });
    await alice.put('/pushrules/global/override/first', {
      conditions: [{ kind: 'event_match', key: 'type', pattern: 'org.example.x' }], actions: [],
    });
    const global = await alice.get('/pushrules/global/');
    for (const kind of KINDS) {
      const listed = await rulesOfKind(kind);
      expect(listed.status).toBe(200);
      expect(listed.body).toEqual(global[kind]);
    }
    expect(((await rulesOfKind('content')).body as Body[]).map((rule) => rule.rule_id)).toContain('cake');
    expect(((await rulesOfKind('override')).body as Body[]).map((rule) => rule.rule_id).slice(0, 2)).toEqual(['.m.rule.master', 'first']);
    expect(await rulesOfKind('sideways')).toMatchObject({ status: 404, body: { errcode: 'M_UNRECOGNIZED' } });
    // Without an access token, as every push rule path.
    expect((await fetch(`${server.url}/_matrix/client/v3/pushrules/global/content/`)).status).toBe(401);
  });

  it('answers M_UNRECOGNIZED for an unknown kind, scope or attribute, and for a missing rule id', async () => {
    const unrecognized = { status: 404, errcode: 'M_UNRECOGNIZED' };
    await alice.fails('GET', '/pushrules/global/sideways/cake', unrecognized);
    await alice.fails('GET', '/pushrules/global/sideways/cake/enabled', unrecognized);
    await alice.fails('GET', '/pushrules/global/sideways/cake/actions', unrecognized);
    await alice.fails('PUT', '/pushrules/global/sideways/cake/enabled', unrecognized, { json: { enabled: false } });
    await alice.fails('PUT', '/pushrules/global/sideways/cake/actions', unrecognized, { json: { actions: [] } });
    await alice.fails('GET', '/pushrules/device/override/.m.rule.master', unrecognized);
    await alice.fails('GET', '/pushrules/global/override/.m.rule.master/pattern', unrecognized);
    await alice.fails('PUT', '/pushrules/global/override/first/conditions', unrecognized, { json: { conditions: [] } });
    await alice.fails('PUT', '/pushrules/global/override/', { status: 400, errcode: 'M_UNRECOGNIZED' }, { json: { actions: [] } });
    await alice.fails('DELETE', '/pushrules/global/override/', unrecognized);
  });

  it('refuses a rule of an unknown kind with 400 M_UNKNOWN, finds none to delete, and leaves the ruleset unchanged', async () => {
    const before = await alice.get('/pushrules/global/');
    await alice.fails('PUT', '/pushrules/global/sideways/cake', { status: 400, errcode: 'M_UNKNOWN' }, { json: { pattern: 'x', actions: [] } });
    await alice.fails('DELETE', '/pushrules/global/sideways/cake', { status: 404, errcode: 'M_NOT_FOUND' });
    // A server-default rule is none of the user's to delete (it can be disabled).
    await alice.fails('DELETE', '/pushrules/global/override/.m.rule.master', { status: 404, errcode: 'M_NOT_FOUND' });
    // A rule id may not hold a slash, even percent-encoded.
    await alice.fails('PUT', `/pushrules/global/content/${e('a/b')}`, { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { pattern: 'x', actions: [] } });
    await alice.fails('GET', '/pushrules/global/content/missing', { status: 404, errcode: 'M_NOT_FOUND' });
    expect(await alice.get('/pushrules/global/')).toEqual(before);
  });

  it('refuses a malformed `enabled` or `actions` body with 400 M_BAD_JSON, and an unknown rule\'s with 404', async () => {
    const before = await alice.get('/pushrules/global/');
    const badJson = { status: 400, errcode: 'M_BAD_JSON' };
    for (const json of [{}, { enabled: 'yes' }, { enabled: 1 }]) {
      await alice.fails('PUT', '/pushrules/global/override/.m.rule.master/enabled', badJson, { json });
    }
    for (const json of [{}, { actions: 'notify' }, { actions: ['shout'] }, { actions: [{ tweak: 'sound' }] }]) {
      await alice.fails('PUT', '/pushrules/global/underride/.m.rule.message/actions', badJson, { json });
    }
    await alice.fails('PUT', '/pushrules/global/override/missing/enabled', { status: 404, errcode: 'M_NOT_FOUND' }, { json: { enabled: true } });
    await alice.fails('PUT', '/pushrules/global/override/missing/actions', { status: 404, errcode: 'M_NOT_FOUND' }, { json: { actions: [] } });
    expect(await alice.get('/pushrules/global/')).toEqual(before);
    expect(await alice.put('/pushrules/global/override/.m.rule.master/enabled', { enabled: true })).toEqual({});
    expect(await alice.get('/pushrules/global/override/.m.rule.master/enabled')).toEqual({ enabled: true });
  });
});
