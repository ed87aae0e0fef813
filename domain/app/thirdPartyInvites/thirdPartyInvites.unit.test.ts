// Invites by third-party identifier over fakes of the identity server and the rooms API: the body's
// checks, the hashed lookup, what store-invite answers becoming m.room.third_party_invite (bounded),
// and onbind turning the identity server's signed blocks into the inviter's invites.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import { IdentityServerError, type IdentityServers } from '../../ports/threePids.ts';
import type { RoomRequester } from '../rooms/index.ts';
import {
  ExchangeFailed, exchangeThirdPartyInvite, inviteByThirdPartyId, inviteForThirdPartySignedJoin, onThirdPartyIdBound, thirdPartyInviteOf, type ThirdPartyInviteRequest, type ThirdPartyInvitesContext,
} from './thirdPartyInvites.ts';

const ID_SERVER = 'id.example.org';
const ALICE: RoomRequester = { userId: '@alice:hs.test', deviceId: 'D' };
const REQUEST: ThirdPartyInviteRequest = { idServer: ID_SERVER, idAccessToken: 'token', medium: 'email', address: 'bob@example.org' };
const KEYS = [{ public_key: 'cHVibGlj', key_validity_url: 'https://id.example.org/_matrix/identity/v2/pubkey/isvalid' }];

interface Recorded {
  readonly calls: { method: string; path: string; body?: JsonObject }[];
  readonly writes: { kind: string; requester: string; roomId: string; args: unknown[] }[];
}

const setUp = (answers: Record<string, JsonObject | Error>, stored: JsonObject = { display_name: 'b…@example.org' }, members: readonly string[] = [ALICE.userId]) => {
  const recorded: Recorded = { calls: [], writes: [] };
  const identityServers: IdentityServers = {
    async request(_idServer, method, path, options) {
      recorded.calls.push({ method, path, ...(options.body === undefined ? {} : { body: options.body }) });
      const answer = answers[path];
      if (answer === undefined) throw new IdentityServerError('not found', 404, 'M_NOT_FOUND');
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  const ctx: ThirdPartyInvitesContext = {
    serverName: 'hs.test',
    identityServers,
    trustedIdServers: [ID_SERVER],
    rooms: {
      invite: async (requester, roomId, userId, _reason, thirdPartyInvite) => void recorded.writes.push({
        kind: 'invite', requester: requester.userId, roomId, args: thirdPartyInvite === undefined ? [userId] : [userId, thirdPartyInvite],
      }),
      putState: async (requester, roomId, type, stateKey, content) => {
        recorded.writes.push({ kind: 'state', requester: requester.userId, roomId, args: [type, stateKey, content] });
        return '$event';
      },
      getStateEvent: async (requester, _roomId, type, stateKey) => {
        if (type !== 'm.room.member') return stored;
        if (requester.userId === stateKey && members.includes(stateKey)) return { membership: 'join' };
        throw new MatrixError('M_FORBIDDEN', 403, 'not in room');
      },
      getAlias: async (alias): Promise<JsonObject> => (alias === '#garden:hs.test' ? { room_id: '!r:hs.test', servers: ['hs.test'] } : {}),
    },
    forwardExchange: async (destination, roomId, event) => {
      if (destination === 'down.test') throw new ExchangeFailed('down');
      recorded.writes.push({ kind: 'forward', requester: destination, roomId, args: [event] });
    },
  };
  return { ctx, recorded };
};

const DETAILS = { algorithms: ['none', 'sha256'], lookup_pepper: 'matrixrocks' };

describe('thirdPartyInviteOf', () => {
  it('is undefined for a user id invite, and checks every 3PID field', () => {
    expect(thirdPartyInviteOf({ user_id: '@bob:hs.test' })).toBeUndefined();
    expect(thirdPartyInviteOf({ id_server: ID_SERVER, id_access_token: 't', medium: 'email', address: ' Bob@Example.ORG ' }))
      .toEqual({ idServer: ID_SERVER, idAccessToken: 't', medium: 'email', address: 'bob@example.org' });
    expect(() => thirdPartyInviteOf({ medium: 'email', address: 'a@b.c' })).toThrow(expect.objectContaining({ errcode: 'M_MISSING_PARAM' }));
    expect(() => thirdPartyInviteOf({ id_server: ID_SERVER, id_access_token: 't', medium: 'email', address: 7 }))
      .toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
    expect(() => thirdPartyInviteOf({ id_server: ID_SERVER, id_access_token: 't', medium: 'email', address: 'x'.repeat(501) }))
      .toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
  });
});

describe('inviteByThirdPartyId', () => {
  it('refuses an untrusted identity server before asking it anything', async () => {
    const { ctx, recorded } = setUp({});
    await expect(inviteByThirdPartyId(ctx, ALICE, '!r:hs.test', { ...REQUEST, idServer: 'evil.example.org' }))
      .rejects.toMatchObject({ errcode: 'M_SERVER_NOT_TRUSTED', status: 400 });
    expect(recorded.calls).toEqual([]);
  });

  it('refuses a requester who is not in the room before asking the identity server', async () => {
    const { ctx, recorded } = setUp({ '/_matrix/identity/v2/hash_details': DETAILS }, undefined, []);
    await expect(inviteByThirdPartyId(ctx, ALICE, '!r:hs.test', REQUEST)).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    expect(recorded.calls).toEqual([]);
  });

  it('looks the address up hashed with the pepper and invites the Matrix id it is bound to', async () => {
    const hashed = createHash('sha256').update('bob@example.org email matrixrocks').digest('base64url');
    const { ctx, recorded } = setUp({
      '/_matrix/identity/v2/hash_details': DETAILS,
      '/_matrix/identity/v2/lookup': { mappings: { [hashed]: '@bob:elsewhere.test' } },
    });
    await inviteByThirdPartyId(ctx, ALICE, '!r:hs.test', REQUEST);
    expect(recorded.calls[1]).toEqual({ method: 'POST', path: '/_matrix/identity/v2/lookup', body: { addresses: [hashed], algorithm: 'sha256', pepper: 'matrixrocks' } });
    expect(recorded.writes).toEqual([{ kind: 'invite', requester: ALICE.userId, roomId: '!r:hs.test', args: ['@bob:elsewhere.test'] }]);
  });

  it('stores the invite for an unbound address and sends m.room.third_party_invite keyed by its token', async () => {
    const { ctx, recorded } = setUp({
      '/_matrix/identity/v2/hash_details': { algorithms: ['none'], lookup_pepper: 'p' },
      '/_matrix/identity/v2/lookup': { mappings: {} },
      '/_matrix/identity/v2/store-invite': { token: 'tok', display_name: 'b…@example.org', public_keys: KEYS },
    });
    await inviteByThirdPartyId(ctx, ALICE, '!r:hs.test', REQUEST);
    expect(recorded.calls[1]?.body).toEqual({ addresses: ['bob@example.org email'], algorithm: 'none', pepper: 'p' });
    expect(recorded.calls[2]?.body).toEqual({ medium: 'email', address: 'bob@example.org', room_id: '!r:hs.test', sender: ALICE.userId });
    expect(recorded.writes).toEqual([{
      kind: 'state', requester: ALICE.userId, roomId: '!r:hs.test',
      args: ['m.room.third_party_invite', 'tok', { display_name: 'b…@example.org', key_validity_url: KEYS[0]!.key_validity_url, public_key: 'cHVibGlj', public_keys: KEYS }],
    }]);
  });

  it('refuses unusable identity server answers and passes its refusals on', async () => {
    const base = { '/_matrix/identity/v2/hash_details': DETAILS, '/_matrix/identity/v2/lookup': { mappings: {} } };
    for (const storeAnswer of [
      { token: 'tok', display_name: 'x', public_keys: [] },
      { token: 'x'.repeat(256), display_name: 'x', public_keys: KEYS },
      { token: 'tok', display_name: 'x', public_keys: [{ public_key: 'k', key_validity_url: 'javascript:alert(1)' }] },
    ]) {
      const { ctx, recorded } = setUp({ ...base, '/_matrix/identity/v2/store-invite': storeAnswer });
      await expect(inviteByThirdPartyId(ctx, ALICE, '!r:hs.test', REQUEST)).rejects.toMatchObject({ status: 502 });
      expect(recorded.writes).toEqual([]);
    }
    const hashed = createHash('sha256').update('bob@example.org email matrixrocks').digest('base64url');
    const badMxid = setUp({ '/_matrix/identity/v2/hash_details': DETAILS, '/_matrix/identity/v2/lookup': { mappings: { [hashed]: 'not a user id' } } });
    await expect(inviteByThirdPartyId(badMxid.ctx, ALICE, '!r:hs.test', REQUEST)).rejects.toMatchObject({ status: 502 });
    expect(badMxid.recorded.writes).toEqual([]);
    const refused = setUp({ '/_matrix/identity/v2/hash_details': new IdentityServerError('terms', 403, 'M_TERMS_NOT_SIGNED') });
    await expect(inviteByThirdPartyId(refused.ctx, ALICE, '!r:hs.test', REQUEST)).rejects.toMatchObject({ errcode: 'M_TERMS_NOT_SIGNED', status: 403 });
    const down = setUp({ '/_matrix/identity/v2/hash_details': new IdentityServerError('unreachable') });
    await expect(inviteByThirdPartyId(down.ctx, ALICE, '!r:hs.test', REQUEST)).rejects.toBeInstanceOf(MatrixError);
  });
});

describe('onThirdPartyIdBound', () => {
  const signed = { mxid: '@bob:hs.test', sender: ALICE.userId, token: 'tok', signatures: { [ID_SERVER]: { 'ed25519:0': 'sig' } } };
  const invite = { medium: 'email', address: 'bob@example.org', mxid: '@bob:hs.test', room_id: '!r:hs.test', sender: ALICE.userId, signed };

  it('sends the inviter`s invite carrying the signed block and the stored display name', async () => {
    const { ctx, recorded } = setUp({});
    expect(await onThirdPartyIdBound(ctx, { medium: 'email', address: 'bob@example.org', mxid: '@bob:hs.test', invites: [invite] })).toEqual({ failures: 0 });
    expect(recorded.writes).toEqual([{
      kind: 'invite', requester: ALICE.userId, roomId: '!r:hs.test', args: ['@bob:hs.test', { display_name: 'b…@example.org', signed }],
    }]);
  });

  it('refuses malformed bodies and other servers` invitees; counts invites it cannot complete', async () => {
    const { ctx, recorded } = setUp({});
    await expect(onThirdPartyIdBound(ctx, { mxid: 'bob', invites: [] })).rejects.toMatchObject({ errcode: 'M_INVALID_PARAM' });
    await expect(onThirdPartyIdBound(ctx, { mxid: '@bob:other.test', invites: [] })).rejects.toMatchObject({ errcode: 'M_INVALID_PARAM' });
    await expect(onThirdPartyIdBound(ctx, { mxid: '@bob:hs.test', invites: new Array(101).fill(invite) })).rejects.toMatchObject({ errcode: 'M_INVALID_PARAM' });
    await expect(onThirdPartyIdBound(ctx, { mxid: '@bob:hs.test', invites: [{ ...invite, signed: { ...signed, mxid: '@eve:hs.test' } }] }))
      .rejects.toMatchObject({ errcode: 'M_INVALID_PARAM' });
    expect(recorded.writes).toEqual([]);
  });

  it('forwards an invite made by another server`s user to that server; one it cannot reach is a failure', async () => {
    const { ctx, recorded } = setUp({});
    const remote = { ...invite, room_id: '!r:other.test', sender: '@carol:other.test', signed: { ...signed, sender: '@carol:other.test' } };
    const unreachable = { ...remote, sender: '@dan:down.test' };
    expect(await onThirdPartyIdBound(ctx, { mxid: '@bob:hs.test', invites: [remote, unreachable] })).toEqual({ failures: 1 });
    expect(recorded.writes).toEqual([{
      kind: 'forward', requester: 'other.test', roomId: '!r:other.test',
      args: [{
        type: 'm.room.member', room_id: '!r:other.test', sender: '@carol:other.test', state_key: '@bob:hs.test',
        content: { membership: 'invite', third_party_invite: { signed: remote.signed } },
      }],
    }]);
  });
});

describe('exchangeThirdPartyInvite', () => {
  const signed = { mxid: '@bob:other.test', sender: ALICE.userId, token: 'tok', signatures: { [ID_SERVER]: { 'ed25519:0': 'sig' } } };
  const event = {
    type: 'm.room.member', room_id: '!r:hs.test', sender: ALICE.userId, state_key: '@bob:other.test',
    content: { membership: 'invite', third_party_invite: { signed } },
  };

  it('completes our user`s invite of the other server`s user', async () => {
    const { ctx, recorded } = setUp({});
    await exchangeThirdPartyInvite(ctx, '!r:hs.test', event);
    expect(recorded.writes).toEqual([{
      kind: 'invite', requester: ALICE.userId, roomId: '!r:hs.test', args: ['@bob:other.test', { display_name: 'b…@example.org', signed }],
    }]);
  });

  it('refuses anything but our user`s invite of the room carrying a signed block for its state_key', async () => {
    const { ctx, recorded } = setUp({});
    for (const bad of [
      { ...event, room_id: '!other:hs.test' },
      { ...event, type: 'm.room.message' },
      { ...event, content: { membership: 'join', third_party_invite: { signed } } },
      { ...event, content: { membership: 'invite', third_party_invite: { signed: { ...signed, mxid: '@eve:other.test' } } } },
      { ...event, content: { membership: 'invite' } },
    ]) {
      await expect(exchangeThirdPartyInvite(ctx, '!r:hs.test', bad)).rejects.toMatchObject({ errcode: 'M_INVALID_PARAM' });
    }
    await expect(exchangeThirdPartyInvite(ctx, '!r:hs.test', { ...event, sender: '@carol:other.test' })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
    expect(recorded.writes).toEqual([]);
  });
});

describe('inviteForThirdPartySignedJoin', () => {
  const BOB: RoomRequester = { userId: '@bob:hs.test', deviceId: 'B' };
  const signed = { mxid: BOB.userId, sender: ALICE.userId, token: 'tok', signatures: { [ID_SERVER]: { 'ed25519:0': 'sig' } } };

  it('completes our inviter`s invite of the joiner (aliases resolved), then the join goes on', async () => {
    const { ctx, recorded } = setUp({});
    expect(await inviteForThirdPartySignedJoin(ctx, BOB, '#garden:hs.test', signed)).toEqual({ roomId: '!r:hs.test', via: [] });
    expect(recorded.writes).toEqual([{
      kind: 'invite', requester: ALICE.userId, roomId: '!r:hs.test', args: [BOB.userId, { display_name: 'b…@example.org', signed }],
    }]);
  });

  it('forwards another server`s invite to it and joins through it', async () => {
    const { ctx, recorded } = setUp({});
    const remoteSigned = { ...signed, sender: '@carol:other.test' };
    expect(await inviteForThirdPartySignedJoin(ctx, BOB, '!x:other.test', remoteSigned)).toEqual({ roomId: '!x:other.test', via: ['other.test'] });
    expect(recorded.writes[0]).toMatchObject({ kind: 'forward', requester: 'other.test', roomId: '!x:other.test' });
    await expect(inviteForThirdPartySignedJoin(ctx, BOB, '!x:down.test', { ...signed, sender: '@dan:down.test' })).rejects.toMatchObject({ status: 502 });
  });

  it('refuses a block for another user or without sender and token', async () => {
    const { ctx, recorded } = setUp({});
    for (const bad of [{ ...signed, mxid: '@eve:hs.test' }, { ...signed, sender: 'alice' }, { mxid: BOB.userId, sender: ALICE.userId }, 'signed']) {
      await expect(inviteForThirdPartySignedJoin(ctx, BOB, '!r:hs.test', bad)).rejects.toMatchObject({ errcode: 'M_INVALID_PARAM' });
    }
    expect(recorded.writes).toEqual([]);
  });
});
