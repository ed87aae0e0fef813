/** Stored events and pushers for the push gateway unit tests. */
import type { Pdu } from '../../domain/index.ts';
import type { JsonObject } from '../../domain/index.ts';
import type { StoredEvent } from '../../domain/ports/index.ts';
import type { Pusher } from '../../domain/ports/index.ts';

export const ROOM = '!room:strata.test';

export const storedEvent = (
  eventId: string, fields: { type?: string; sender?: string; stateKey?: string; content?: JsonObject; offset?: number } = {},
): StoredEvent => ({
  eventId, roomId: ROOM, roomVersion: '10', partition: 0, offset: fields.offset ?? 0, type: fields.type ?? 'm.room.message',
  stateKey: fields.stateKey ?? null, sender: fields.sender ?? '@bob:strata.test', originServerTs: 1,
  pdu: { content: fields.content ?? { msgtype: 'm.text', body: 'hi' } } as unknown as Pdu,
  redactedBecause: null, local: null, replacesState: null, prevContent: null,
});

export const member = (userId: string, membership: string, offset = 0, displayname?: string): StoredEvent =>
  storedEvent(`$member-${userId}-${offset}`, {
    type: 'm.room.member', sender: userId, stateKey: userId, offset,
    content: { membership, ...(displayname === undefined ? {} : { displayname }) },
  });

export const pusher = (userId: string, pushkey: string, data: JsonObject, kind = 'http'): Pusher => ({
  userId, kind, appId: 'org.example.app', pushkey, appDisplayName: 'App', deviceDisplayName: 'Phone', profileTag: '',
  lang: 'en', data, deviceId: 'PHONE', createdTs: 1_600_000_000_000, pushkeyTs: 1_700_000_000_999,
});
