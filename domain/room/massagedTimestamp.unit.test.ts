/**
 * An application service's massaged timestamp (LocalEventRequest.originServerTs) becomes the
 * event's origin_server_ts; the record keeps when it was accepted. Anything origin_server_ts may
 * not hold is refused.
 */
import { describe, expect, it } from 'vitest';
import { signingKeyFromSeed } from '../events/index.ts';
import { ROOM_VERSIONS } from '../roomVersions/index.ts';
import { NO_LOOKUPS, type Decision, type LocalEventRequest } from './commands.ts';
import { decide, evolve, initialState } from './decider.ts';
import type { RoomState } from './state.ts';

const key = signingKeyFromSeed('a.test', 'ed25519:1', new Uint8Array(32).fill(1));
const ALICE = '@alice:a.test';
const local = { userId: ALICE, deviceId: 'DEV', txnId: null };
const NOW = 1_700_000_100_000;

const fold = (state: RoomState, decision: Decision): RoomState => {
  if (decision.outcome !== 'records') throw new Error(`expected records, got ${JSON.stringify(decision)}`);
  return decision.records.reduce(evolve, state);
};

describe.each([...ROOM_VERSIONS.values()])('massaged timestamps, room version $id', (rules) => {
  const room = (): RoomState => fold(initialState, decide({
    type: 'createRoom',
    ...(rules.eventFormat.roomIdIsCreateEventHash ? {} : { roomId: '!room:a.test' }),
    createContent: rules.auth.creatorIsCreateSender ? { room_version: rules.id } : { room_version: rules.id, creator: ALICE },
    creator: ALICE,
    events: [{ type: 'm.room.member', stateKey: ALICE, sender: ALICE, content: { membership: 'join' } }],
    signingKey: key, local, now: 1_700_000_000_000,
  }, initialState, NO_LOOKUPS));
  const send = (event: LocalEventRequest): Decision => decide({ type: 'sendLocal', event, signingKey: key, local, now: NOW }, room(), NO_LOOKUPS);

  it('stamps the event with the given time, and the record with now', () => {
    for (const originServerTs of [0, 1_500_000_000_000, Number.MAX_SAFE_INTEGER]) {
      const decision = send({ type: 'm.room.message', sender: ALICE, content: { body: 'old' }, originServerTs });
      if (decision.outcome !== 'records') throw new Error(JSON.stringify(decision));
      const record = decision.records[0]!;
      expect(record.type).toBe('pdu.accepted');
      if (record.type !== 'pdu.accepted') return;
      expect(record.pdu.origin_server_ts).toBe(originServerTs);
      expect(record.acceptedAt).toBe(NOW);
    }
    const plain = send({ type: 'm.room.message', sender: ALICE, content: { body: 'now' } });
    expect(plain).toMatchObject({ outcome: 'records', records: [{ pdu: { origin_server_ts: NOW } }] });
  });

  it('refuses a time origin_server_ts cannot hold', () => {
    for (const originServerTs of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity]) {
      expect(send({ type: 'm.room.message', sender: ALICE, content: {}, originServerTs }))
        .toMatchObject({ outcome: 'refused', error: { errcode: 'M_INVALID_PARAM' } });
    }
  });
});
