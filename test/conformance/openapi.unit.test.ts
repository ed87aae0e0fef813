// The OpenAPI response validator on fixed documents: operation lookup by path template, $refs across
// files, readable violation paths, and undocumented statuses.
import { beforeAll, describe, expect, it } from 'vitest';
import { ClientServerSpec, formatViolations } from './openapi.ts';

const V3 = '/_matrix/client/v3';

describe('ClientServerSpec', () => {
  let spec: ClientServerSpec;
  beforeAll(() => {
    spec = ClientServerSpec.load();
  });

  it('reads every client-server operation with its base path', () => {
    expect(spec.operations.length).toBeGreaterThan(150);
    expect(spec.findOperation('GET', `${V3}/account/whoami`)).toMatchObject({ operationId: 'getTokenOwner', file: 'whoami.yaml' });
    expect(spec.findOperation('GET', '/_matrix/client/versions')?.operationId).toBe('getVersions');
    expect(spec.findOperation('GET', '/_matrix/client/v1/rooms/!r%3Ahs/relations/%24e')?.operationId).toBe('getRelatingEvents');
    expect(spec.findOperation('GET', `${V3}/no/such/endpoint`)).toBeUndefined();
  });

  it('matches path templates by specificity, and a state key left off with its slash', () => {
    expect(spec.findOperation('PUT', `${V3}/rooms/!r%3Ahs/state/m.room.name/`)?.operationId).toBe('setRoomStateWithKey');
    expect(spec.findOperation('PUT', `${V3}/rooms/!r%3Ahs/state/m.room.name`)?.operationId).toBe('setRoomStateWithKey');
    expect(spec.findOperation('GET', `${V3}/rooms/!r%3Ahs/state`)?.operationId).toBe('getRoomState');
    expect(spec.findOperation('POST', `${V3}/keys/device_signing/upload`)?.operationId).toBe('uploadCrossSigningKeys');
    expect(spec.findOperation('GET', `${V3}/pushrules/global/override/.m.rule.master/enabled`)?.operationId).toBe('isPushRuleEnabled');
    expect(spec.findOperation('GET', `${V3}/pushrules/global/override/.m.rule.master`)?.operationId).toBe('getPushRule');
    // Same path in two files (inviting.yaml, whose key has a trailing space, and third_party_membership.yaml).
    expect(spec.findOperations('POST', `${V3}/rooms/!r%3Ahs/invite`).map((operation) => operation.operationId).sort()).toEqual(['inviteBy3PID', 'inviteUser']);
  });

  it('accepts a conforming body and ignores the query string', () => {
    expect(spec.checkResponse('GET', `${V3}/account/whoami?x=1`, 200, { user_id: '@a:hs', device_id: 'D', is_guest: false }))
      .toMatchObject({ documented: true, violations: [] });
  });

  it('names each violation by its place in the body', () => {
    const check = spec.checkResponse('GET', `${V3}/account/whoami`, 200, { user_id: 'a', device_id: 3 });
    expect(check.violations).toEqual(expect.arrayContaining([
      { at: 'body.user_id', message: 'must match pattern "^@"' },
      { at: 'body.device_id', message: 'must be string' },
    ]));
  });

  it('follows $refs into definitions/ and the event schemas', () => {
    const body = { next_batch: 's1', rooms: { join: { '!a:hs': { timeline: { events: [{ type: 1, event_id: '$e' }] } } } } };
    const text = formatViolations(spec.checkResponse('GET', `${V3}/sync`, 200, body).violations);
    expect(text).toContain('body.rooms.join["!a:hs"].timeline.events[0]: must have required property \'sender\'');
    expect(text).toContain('body.rooms.join["!a:hs"].timeline.events[0].type: must be string');
    const event = { type: 'm.room.message', event_id: '$e', sender: '@a:hs', origin_server_ts: 1, content: { body: 'hi', msgtype: 'm.text' } };
    expect(spec.checkResponse('GET', `${V3}/sync`, 200, { ...body, rooms: { join: { '!a:hs': { timeline: { events: [event] } } } } }).violations).toEqual([]);
  });

  it('checks documented errors against the error schema and undocumented ones against the standard error', () => {
    expect(spec.checkResponse('GET', `${V3}/account/whoami`, 401, { errcode: 'M_UNKNOWN_TOKEN', error: 'no' }))
      .toMatchObject({ documented: true, violations: [] });
    expect(spec.checkResponse('GET', `${V3}/account/whoami`, 401, { error: 'no' }).violations)
      .toEqual([{ at: 'body', message: "must have required property 'errcode'" }]);
    expect(spec.checkResponse('GET', `${V3}/account/whoami`, 500, { errcode: 'M_UNKNOWN' }))
      .toMatchObject({ documented: false, violations: [] });
    expect(spec.checkResponse('GET', `${V3}/account/whoami`, 500, { errcode: 7 }).violations)
      .toEqual([{ at: 'body.errcode', message: 'must be string' }]);
    expect(spec.checkResponse('GET', `${V3}/account/whoami`, 204, {}).violations[0]?.at).toBe('status');
  });

  it('tells a user-interactive auth challenge (401 with flows) from an access-token error (401 without)', () => {
    const path = `${V3}/devices/PHONE`;
    expect(spec.checkResponse('DELETE', path, 401, { flows: [{ stages: ['m.login.password'] }], params: {}, session: 's' }).violations).toEqual([]);
    expect(spec.checkResponse('DELETE', path, 401, { errcode: 'M_MISSING_TOKEN', error: 'no token' }).violations).toEqual([]);
    expect(spec.checkResponse('DELETE', path, 401, { flows: 'password' }).violations).toEqual([{ at: 'body.flows', message: 'must be array' }]);
    expect(spec.checkResponse('POST', `${V3}/keys/device_signing/upload`, 401, { flows: [{ stages: [] }], params: {} }))
      .toMatchObject({ documented: false, violations: [] });
  });

  it('checks a rate-limit answer against rate_limited.yaml', () => {
    const login = `${V3}/login`;
    expect(spec.checkResponse('POST', login, 429, { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 10 }).violations).toEqual([]);
    expect(spec.checkResponse('POST', login, 429, { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 'soon' }).violations)
      .toEqual([{ at: 'body.retry_after_ms', message: 'must be integer' }]);
  });
});
