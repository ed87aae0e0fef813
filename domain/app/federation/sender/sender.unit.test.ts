// The federation sender's pure pieces: whom an event goes to (joined servers after it, the subject
// of a membership event, never us), how JoinedServers follows a room, transaction limits, the
// bounded queue, transaction ids, catch-up marks and the backoff schedule.
import { describe, expect, it } from 'vitest';
import type { AnyPduAccepted, StateChange } from '../../../room/index.ts';
import {
  DEFAULT_BACKOFF, JoinedServers, MAX_EDUS_PER_TRANSACTION, RoomServersCache, acceptedRecordOf, MAX_PDUS_PER_TRANSACTION, OutgoingQueue, backoffDelayMs, catchUpMarks,
  destinationsOf, isCreatedBy, latestPerRoom, membershipEffectOf, outcomeOfStatus, serverOfUserId, transactionBody, transactionIds,
  type OutgoingPdu,
} from './index.ts';

const US = 'us.test';
const member = (userId: string, membership: string) => ({ pdu: { type: 'm.room.member', state_key: userId, content: { membership } } });
const outgoing = (roomId: string, offset: number): OutgoingPdu =>
  ({ roomId, eventId: `$${roomId}-${offset}`, partition: 0, offset, pdu: { type: 'm.room.message', room_id: roomId } });

describe('destinations', () => {
  it('takes the server after the first colon, ports included', () => {
    expect(serverOfUserId('@a:b.test')).toBe('b.test');
    expect(serverOfUserId('@a:127.0.0.1:8448')).toBe('127.0.0.1:8448');
    expect(serverOfUserId('@nocolon')).toBeUndefined();
  });

  it('counts an event as ours by its sender, not by how it arrived', () => {
    expect(isCreatedBy({ sender: `@alice:${US}` }, US)).toBe(true);
    expect(isCreatedBy({ sender: '@bob:them.test' }, US)).toBe(false);
    expect(isCreatedBy({}, US)).toBe(false);
  });

  it('sends to every other server with a joined member, never to us', () => {
    const servers = JoinedServers.of([
      member(`@alice:${US}`, 'join'), member('@bob:b.test', 'join'), member('@bea:b.test', 'join'),
      member('@carl:c.test', 'invite'), member('@dan:d.test', 'leave'),
    ]);
    expect(destinationsOf({ type: 'm.room.message', sender: `@alice:${US}` }, servers.servers(), US)).toEqual(['b.test']);
  });

  it('adds the server of a membership event\'s subject (invite, kick, ban of a remote user)', () => {
    const servers = JoinedServers.of([member(`@alice:${US}`, 'join'), member('@bob:b.test', 'join')]);
    for (const membership of ['invite', 'leave', 'ban']) {
      const pdu = { type: 'm.room.member', state_key: '@carl:c.test', sender: `@alice:${US}`, content: { membership } };
      expect(destinationsOf(pdu, servers.servers(), US)).toEqual(['b.test', 'c.test']);
    }
    const ownJoin = { type: 'm.room.member', state_key: `@alice:${US}`, content: { membership: 'join' } };
    expect(destinationsOf(ownJoin, servers.servers(), US)).toEqual(['b.test']);
    // A non-member state event whose state key looks like a user id adds nobody.
    expect(destinationsOf({ type: 'm.custom', state_key: '@carl:c.test' }, servers.servers(), US)).toEqual(['b.test']);
  });

  it('follows joins and leaves per server, idempotently', () => {
    const servers = JoinedServers.of([member('@bob:b.test', 'join'), member('@bea:b.test', 'join')]);
    servers.set('@bob:b.test', 'leave');
    expect([...servers.servers()]).toEqual(['b.test']);
    servers.set('@bob:b.test', 'leave');
    servers.set('@bea:b.test', 'ban');
    expect([...servers.servers()]).toEqual([]);
    servers.set('@carl:c.test', 'join');
    servers.set('@carl:c.test', 'join');
    servers.set('@carl:c.test', 'leave');
    expect([...servers.servers()]).toEqual([]);
  });

  it('reads a record\'s membership effect: none, its own event, or a reload after state resolution', () => {
    const record = (stateDelta: StateChange[], content: object = { membership: 'join' }) =>
      ({ eventId: '$e', pdu: { type: 'm.room.member', state_key: '@bob:b.test', content }, stateDelta }) as unknown as AnyPduAccepted;
    const change = (eventId: string | null, type = 'm.room.member', stateKey = '@bob:b.test'): StateChange =>
      ({ type, stateKey, eventId, replaces: null });
    expect(membershipEffectOf(record([]))).toEqual({ kind: 'none' });
    expect(membershipEffectOf(record([change('$e', 'm.room.name', '')]))).toEqual({ kind: 'none' });
    expect(membershipEffectOf(record([change('$e')]))).toEqual({ kind: 'own', userId: '@bob:b.test', membership: 'join' });
    expect(membershipEffectOf(record([change('$e')], {}))).toEqual({ kind: 'own', userId: '@bob:b.test', membership: 'leave' });
    expect(membershipEffectOf(record([change('$other')]))).toEqual({ kind: 'reload' });
    expect(membershipEffectOf(record([change('$e'), change(null, 'm.room.member', '@x:x.test')]))).toEqual({ kind: 'reload' });
  });
});

describe('following rooms record by record', () => {
  const accepted = (roomId: string, eventId: string, pdu: object, stateDelta: StateChange[] = []) =>
    ({ type: 'pdu.accepted', v: 2, roomId, eventId, pdu, stateDelta, redaction: null, redactedBy: [] });
  const join = (roomId: string, userId: string, eventId: string) => accepted(roomId, eventId,
    { type: 'm.room.member', state_key: userId, content: { membership: 'join' } },
    [{ type: 'm.room.member', stateKey: userId, eventId, replaces: null }]);

  it('reads pdu.accepted of either version and nothing else', () => {
    expect(acceptedRecordOf(accepted('!r', '$e', {}))).toBeDefined();
    expect(acceptedRecordOf({ ...accepted('!r', '$e', {}), v: 1 })).toBeDefined();
    expect(acceptedRecordOf({ ...accepted('!r', '$e', {}), v: 3 })).toBeUndefined();
    for (const type of ['pdu.outlier', 'state.imported', 'pdu.softFailed', 'something.new']) {
      expect(acceptedRecordOf({ type, v: 1, roomId: '!r' })).toBeUndefined();
    }
    expect(acceptedRecordOf(null)).toBeUndefined();
  });

  it('moves a followed room\'s servers on with each membership event', () => {
    const cache = new RoomServersCache(10);
    expect(cache.follow(join('!r', '@bob:b.test', '$1'))).toBeDefined();
    // Not followed yet: nothing known until it is loaded.
    expect(cache.get('!r')).toBeUndefined();
    cache.set('!r', 0, JoinedServers.of([member('@bob:b.test', 'join')]));
    cache.follow(join('!r', '@carl:c.test', '$2'));
    expect([...cache.get('!r')!.servers()].sort()).toEqual(['b.test', 'c.test']);
    // State-neutral records leave it alone.
    for (const type of ['pdu.outlier', 'pdu.softFailed', 'pdu.rejected', 'pdu.backfilled', 'membership.outOfBand']) {
      expect(cache.follow({ type, v: 1, roomId: '!r', eventId: '$x' })).toBeUndefined();
      expect(cache.get('!r')).toBeDefined();
    }
  });

  it('forgets a room whose memberships change in ways a record alone does not tell', () => {
    const cache = new RoomServersCache(10);
    const load = () => cache.set('!r', 3, JoinedServers.of([member('@bob:b.test', 'join')]));
    load();
    cache.follow({ type: 'state.imported', v: 1, roomId: '!r', stateDelta: [], forwardExtremities: [], importedAt: 1 });
    expect(cache.get('!r')).toBeUndefined();
    load();
    cache.follow({ type: 'something.new', v: 1, roomId: '!r' });
    expect(cache.get('!r')).toBeUndefined();
    load();
    cache.follow(accepted('!r', '$m', { type: 'm.room.message' }, [{ type: 'm.room.member', stateKey: '@x:x.test', eventId: '$old', replaces: null }]));
    expect(cache.get('!r')).toBeUndefined();
    load();
    cache.forgetPartitions([1, 2]);
    expect(cache.get('!r')).toBeDefined();
    cache.forgetPartitions([3]);
    expect(cache.get('!r')).toBeUndefined();
  });
});

describe('transactions', () => {
  it('takes at most 50 PDUs and the EDUs asked for, oldest first', () => {
    const queue = new OutgoingQueue({ maxPdus: 1_000, maxEdus: 1_000 });
    for (let i = 0; i < 120; i++) expect(queue.addPdu(outgoing('!r', i))).toBe(true);
    for (let i = 0; i < 250; i++) queue.addEdu({ edu_type: 'm.typing', content: { i } });
    expect(MAX_PDUS_PER_TRANSACTION).toBe(50);
    expect(MAX_EDUS_PER_TRANSACTION).toBe(100);
    const first = queue.takePdus();
    expect(first.map((p) => p.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(queue.takePdus().length).toBe(50);
    expect(queue.takePdus().length).toBe(20);
    expect(queue.takePdus()).toEqual([]);
    expect(queue.takeEdus(MAX_EDUS_PER_TRANSACTION).map((e) => e.content.i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(queue.takeEdus(0)).toEqual([]);
    expect(queue.eduCount).toBe(150);
  });

  it('refuses PDUs past its bound and drops the oldest EDUs past theirs', () => {
    const queue = new OutgoingQueue({ maxPdus: 2, maxEdus: 3 });
    expect(queue.addPdu(outgoing('!r', 1))).toBe(true);
    expect(queue.addPdu(outgoing('!r', 2))).toBe(true);
    expect(queue.addPdu(outgoing('!r', 3))).toBe(false);
    expect(queue.pduCount).toBe(2);
    queue.clearPdus();
    expect(queue.pduCount).toBe(0);
    for (let i = 0; i < 3; i++) expect(queue.addEdu({ edu_type: 't', content: { i } })).toBe(0);
    expect(queue.addEdu({ edu_type: 't', content: { i: 3 } })).toBe(1);
    const taken = queue.takeEdus(2);
    expect(taken.map((e) => e.content.i)).toEqual([1, 2]);
    queue.addEdu({ edu_type: 't', content: { i: 4 } });
    // Returned EDUs go back in front; the bound then drops the oldest of all.
    expect(queue.returnEdus(taken)).toBe(1);
    expect(queue.takeEdus(10).map((e) => e.content.i)).toEqual([2, 3, 4]);
  });

  it('builds the spec\'s body and ids that never repeat', () => {
    expect(transactionBody(US, 5, [{ type: 'x' }], [{ edu_type: 'm.typing', content: { a: 1 } }])).toEqual({
      origin: US, origin_server_ts: 5, pdus: [{ type: 'x' }], edus: [{ edu_type: 'm.typing', content: { a: 1 } }],
    });
    const ids = transactionIds(1_700_000_000_000);
    const again = transactionIds(1_700_000_000_001);
    const all = [ids(), ids(), again(), again()];
    expect(new Set(all).size).toBe(4);
  });

  it('knows the latest offset per room and per (destination, room)', () => {
    const latest = latestPerRoom([outgoing('!a', 3), outgoing('!b', 1), outgoing('!a', 7), outgoing('!a', 5)]);
    expect([...latest.entries()].map(([room, pdu]) => [room, pdu.offset])).toEqual([['!a', 7], ['!b', 1]]);
    const marks = catchUpMarks([
      { pdu: outgoing('!a', 3), destinations: ['b.test', 'c.test'] },
      { pdu: outgoing('!a', 9), destinations: ['b.test'] },
      { pdu: outgoing('!b', 4), destinations: ['c.test'] },
    ]);
    expect(marks.map((m) => [m.destination, m.roomId, m.offset]).sort()).toEqual([
      ['b.test', '!a', 9], ['c.test', '!a', 3], ['c.test', '!b', 4],
    ]);
  });

  it('retries 5xx, 408 and 429, gives up on other 4xx', () => {
    expect(outcomeOfStatus(200)).toBe('delivered');
    for (const status of [500, 502, 503, 504, 408, 429]) expect(outcomeOfStatus(status)).toBe('retry');
    for (const status of [400, 401, 403, 404]) expect(outcomeOfStatus(status)).toBe('refused');
  });
});

describe('backoff', () => {
  it('doubles from the start delay up to the cap', () => {
    const settings = { startMs: 1_000, maxMs: 10_000 };
    expect([0, 1, 2, 3, 4, 5, 6].map((failures) => backoffDelayMs(failures, settings))).toEqual([0, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    expect(backoffDelayMs(10_000, settings)).toBe(10_000);
    expect(DEFAULT_BACKOFF).toEqual({ startMs: 2_000, maxMs: 600_000 });
    expect(backoffDelayMs(100, DEFAULT_BACKOFF)).toBe(600_000);
  });
});
