import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../ports/rooms.ts';
import { clientEvent } from './clientEvent.ts';
import { parseEventFilter } from './reading.ts';
import { parseRoomToken, roomToken } from './tokens.ts';

const stored = (overrides: Partial<StoredEvent> = {}): StoredEvent => ({
  eventId: '$e', roomId: '!r', roomVersion: '12', partition: 0, offset: 7, type: 'm.room.name', stateKey: '',
  sender: '@a:x', originServerTs: 1000, pdu: { type: 'm.room.name', content: { name: 'N' } }, redactedBecause: null,
  local: { userId: '@a:x', deviceId: 'D', txnId: 'tx' }, replacesState: '$old', prevContent: { name: 'O' }, ...overrides,
});

describe('clientEvent', () => {
  it('echoes the transaction id only to the sending device and carries prev_content', () => {
    const mine = clientEvent(stored(), { userId: '@a:x', deviceId: 'D' }, 1500);
    expect(mine).toEqual({
      content: { name: 'N' }, event_id: '$e', origin_server_ts: 1000, room_id: '!r', sender: '@a:x', state_key: '', type: 'm.room.name',
      unsigned: { age: 500, transaction_id: 'tx', replaces_state: '$old', prev_content: { name: 'O' } },
    });
    expect(clientEvent(stored(), { userId: '@a:x', deviceId: 'OTHER' }, 1500).unsigned).not.toHaveProperty('transaction_id');
  });

  it('renders redactions with a top-level redacts and the redaction that removed an event', () => {
    const redaction = stored({ eventId: '$red', type: 'm.room.redaction', stateKey: null, pdu: { type: 'm.room.redaction', content: { redacts: '$e' } }, replacesState: null, prevContent: null });
    expect(clientEvent(redaction, { userId: '@b:x', deviceId: null }, 1000)).toMatchObject({ redacts: '$e', content: { redacts: '$e' } });
    const redacted = clientEvent(stored({ pdu: { type: 'm.room.name', content: {} }, redactedBecause: redaction }), { userId: '@b:x', deviceId: null }, 1000);
    expect(redacted.unsigned).toMatchObject({ redacted_because: { event_id: '$red' } });
  });
});

describe('tokens and filters', () => {
  it('round-trips timeline tokens and refuses others', () => {
    expect(parseRoomToken(roomToken(42))).toBe(42);
    expect(() => parseRoomToken('s42')).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
  });

  it('reads a RoomEventFilter', () => {
    expect(parseEventFilter(JSON.stringify({ types: ['m.*'], not_senders: ['@x:y'], contains_url: true, limit: 5 })))
      .toEqual({ filter: { types: ['m.*'], notSenders: ['@x:y'], containsUrl: true }, limit: 5 });
    expect(() => parseEventFilter('{nope')).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
  });
});
