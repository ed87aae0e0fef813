// The STRATA_VALIDATE_SPEC hook: what it records (body violations, undocumented error statuses, paths
// the spec lacks) and what it lets pass (conforming answers, common errors, M_UNRECOGNIZED).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSpecCheck, specTwin, type RecordedViolation } from './specHook.ts';

const V3 = '/_matrix/client/v3';

describe('recordSpecCheck', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'strata-spec-hook-'));
    file = join(dir, 'violations.jsonl');
    process.env.STRATA_SPEC_VIOLATIONS = file;
  });
  afterAll(() => {
    delete process.env.STRATA_SPEC_VIOLATIONS;
    rmSync(dir, { recursive: true, force: true });
  });
  const recorded = (): RecordedViolation[] => readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as RecordedViolation);

  it('lets conforming answers, common errors and M_UNRECOGNIZED pass', () => {
    expect(recordSpecCheck('GET', `${V3}/account/whoami`, 200, { user_id: '@a:hs' })).toBeUndefined();
    expect(recordSpecCheck('GET', `${V3}/joined_rooms`, 401, { errcode: 'M_MISSING_TOKEN', error: 'x' })).toBeUndefined();
    expect(recordSpecCheck('GET', `${V3}/no/such`, 404, { errcode: 'M_UNRECOGNIZED', error: 'x' })).toBeUndefined();
    expect(recordSpecCheck('GET', '/_matrix/client/v1/media/download/hs/nosuchmedia', 404, { errcode: 'M_NOT_FOUND', error: 'x' })).toBeUndefined();
    expect(recordSpecCheck('POST', '/_synapse/admin/v1/register', 200, {})).toBeUndefined();
  });

  it('records body violations, undocumented error statuses and unknown paths, one JSON line each', () => {
    expect(recordSpecCheck('GET', `${V3}/account/whoami?x=1`, 200, { user_id: 5 })?.violations).toContainEqual({ at: 'body.user_id', message: 'must be string' });
    expect(recordSpecCheck('GET', `${V3}/rooms/!r%3Ahs/event/%24e`, 403, { errcode: 'M_FORBIDDEN', error: 'x' })?.violations)
      .toEqual([{ at: 'status', message: '403 M_FORBIDDEN is not a documented response (200, 404)' }]);
    expect(recordSpecCheck('GET', `${V3}/no/such`, 200, {})?.operation).toBe('unknown operation');
    expect(recorded().map((record) => [record.method, record.path, record.status])).toEqual([
      ['GET', `${V3}/account/whoami`, 200], ['GET', `${V3}/rooms/!r%3Ahs/event/%24e`, 403], ['GET', `${V3}/no/such`, 200],
    ]);
  });

  it('checks the r0 and unstable aliases and POST /send without a transaction id as the operation they mirror', () => {
    expect(specTwin('GET', '/_matrix/client/r0/sync?since=s1')).toEqual({ method: 'GET', path: `${V3}/sync?since=s1` });
    expect(specTwin('POST', '/_matrix/client/unstable/keys/signatures/upload')).toEqual({ method: 'POST', path: `${V3}/keys/signatures/upload` });
    expect(specTwin('POST', '/_matrix/client/r0/rooms/!r%3Ahs/send/m.room.message')).toEqual({ method: 'PUT', path: `${V3}/rooms/!r%3Ahs/send/m.room.message/txn` });
    expect(recordSpecCheck('GET', '/_matrix/client/r0/account/whoami', 200, { user_id: '@a:hs' })).toBeUndefined();
    expect(recordSpecCheck('POST', `${V3}/rooms/!r%3Ahs/send/m.room.message`, 200, { event_id: '$e' })).toBeUndefined();
    expect(recordSpecCheck('GET', '/_matrix/client/r0/sync', 200, {})?.operation).toBe('sync.yaml sync');
  });

  it('holds only the room events of the global /events chunk to ClientEvent', () => {
    const message = { type: 'm.room.message', event_id: '$e', room_id: '!r:hs', sender: '@a:hs', origin_server_ts: 1, content: {} };
    const typing = { type: 'm.typing', room_id: '!r:hs', content: { user_ids: [] } };
    expect(recordSpecCheck('GET', `${V3}/events`, 200, { start: 's', end: 's', chunk: [message, typing] })).toBeUndefined();
    expect(recordSpecCheck('GET', `${V3}/events`, 200, { start: 's', end: 's', chunk: [typing, { ...message, sender: undefined }] })?.violations)
      .toEqual([{ at: 'body.chunk[1]', message: "must have required property 'sender'" }]);
  });
});
