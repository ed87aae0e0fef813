/**
 * Test fixture: a room with everything the warehouse row records, built by the real decider. A
 * bridge's users (application service `tg`), an encrypted event, a thread, a reaction, a redaction
 * (room version 11: `redacts` in the content), and SECRET_MARKER in every place people write to:
 * bodies, the room's name and topic, a display name, a reaction key, a ciphertext, an oversized msgtype.
 */
import { parseRegistration, type AppserviceRegistration, type EventRecord } from '../../../domain/index.ts';
import { SECRET_MARKER } from './scenario.ts';
import { TestRoom } from './testRooms.ts';

export const BRIDGED_ROOM_ID = '!bridged:a.test';
export const BRIDGED_USER = '@tg_bob:a.test';
/** 2024-03-02T23:30:00Z: the room's events cross a day boundary. */
export const WAREHOUSE_START = Date.UTC(2024, 2, 2, 23, 30);

export const BRIDGE_REGISTRATION: AppserviceRegistration = parseRegistration({
  id: 'tg', url: null, as_token: 'as', hs_token: 'hs', sender_localpart: 'tgbot',
  namespaces: { users: [{ regex: '@tg_.*:a\\.test', exclusive: true }] },
}, 'a.test', 'tg.yaml');

export interface WarehouseScenario {
  readonly room: TestRoom;
  readonly records: EventRecord[];
  readonly ids: {
    readonly threadRoot: string;
    readonly threadReply: string;
    readonly encrypted: string;
    readonly reaction: string;
    readonly bridgedMessage: string;
    readonly oddMsgtype: string;
    readonly redaction: string;
  };
}

export const buildWarehouseScenario = (): WarehouseScenario => {
  const alice = '@alice:a.test';
  const room = new TestRoom(WAREHOUSE_START, '11');
  room.step = 10 * 60_000;
  room.create(BRIDGED_ROOM_ID, alice, [BRIDGED_USER]);
  room.send(alice, 'm.room.name', { name: `${SECRET_MARKER} name` }, { stateKey: '' });
  room.send(alice, 'm.room.topic', { topic: `${SECRET_MARKER} topic` }, { stateKey: '' });
  room.send(alice, 'm.room.member', { membership: 'join', displayname: `${SECRET_MARKER} Alice` }, { stateKey: alice });
  const threadRoot = room.send(alice, 'm.room.message', { msgtype: 'm.text', body: `${SECRET_MARKER} root` }).eventId;
  const threadReply = room.send(BRIDGED_USER, 'm.room.message', {
    msgtype: 'm.notice', body: `${SECRET_MARKER} reply`, 'm.relates_to': { rel_type: 'm.thread', event_id: threadRoot, is_falling_back: true },
  }).eventId;
  const encrypted = room.send(alice, 'm.room.encrypted', {
    algorithm: 'm.megolm.v1.aes-sha2', ciphertext: `${SECRET_MARKER}cipher`, session_id: 's', sender_key: 'k', device_id: 'DEV',
  }).eventId;
  const reaction = room.send(BRIDGED_USER, 'm.reaction', {
    'm.relates_to': { rel_type: 'm.annotation', event_id: threadRoot, key: `${SECRET_MARKER} 👍` },
  }).eventId;
  const bridgedMessage = room.send(BRIDGED_USER, 'm.room.message', { msgtype: 'm.text', body: `${SECRET_MARKER} bridged` }).eventId;
  const oddMsgtype = room.send(alice, 'm.room.message', { msgtype: `${SECRET_MARKER}${'x'.repeat(200)}`, body: 'odd' }).eventId;
  const redaction = room.send(alice, 'm.room.redaction', { redacts: bridgedMessage, reason: `${SECRET_MARKER} why` }).eventId;
  return {
    room, records: [...room.records],
    ids: { threadRoot, threadReply, encrypted, reaction, bridgedMessage, oddMsgtype, redaction },
  };
};
