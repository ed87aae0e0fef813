/**
 * A user of a fake remote server (fakeRemoteServer.ts) in a Strata room: joined through
 * `make_join` + `send_join` as a real server would (the template signed with the fake server's
 * key), then building PDUs on top of the room's latest event and sending them in transactions.
 * PDUs can be signed loosely (non-strict canonical JSON) to carry values a room version forbids.
 */
import { randomBytes } from 'node:crypto';
import {
  canonicalJsonBytes, encodeBase64, eventIdOfReferenceHash, hashAndSignEvent, pduOfProto, redactPdu, referenceHashEventId, roomVersionRules,
  sha256Digest, signatureOf, type JsonObject, type JsonValue, type Pdu, type RoomVersionRules, type SigningKey,
} from '../../domain/index.ts';
import { e, type Body, type UserClient } from './client.ts';
import type { FakeRemoteServer } from './fakeRemoteServer.ts';

export interface RemoteEventFields {
  readonly type: string;
  readonly stateKey?: string;
  readonly content: JsonObject;
  /** The room's latest event by default. */
  readonly prevEventIds?: readonly string[];
  /** Create (before v12), power levels and the sender's membership by default. */
  readonly authEventIds?: readonly string[];
  readonly sender?: string;
  /** For m.room.redaction: where the room version puts it (top level before v11, content since). */
  readonly redacts?: string;
}

export interface BuildOptions {
  /** The key that signs; the fake server's own by default. */
  readonly key?: SigningKey;
  /** Changes the PDU before it is hashed and signed (so hash and signature cover the change). */
  readonly before?: (pdu: Pdu) => void;
  /** Hash and sign with non-strict canonical JSON (floats, integers beyond ±(2^53−1)). */
  readonly loosely?: boolean;
}

export interface BuiltRemoteEvent {
  readonly pdu: Pdu;
  readonly eventId: string;
}

/** A user of the fake server writing events of a room, joined or not. */
export interface RemoteAuthor {
  readonly userId: string;
  readonly roomId: string;
  readonly rules: RoomVersionRules;
  /** A new event of this user on top of the room's latest event, hashed and signed. */
  build(fields: RemoteEventFields, options?: BuildOptions): Promise<BuiltRemoteEvent>;
  /** `PUT /send/{txnId}` with these PDUs and EDUs (a fresh transaction id by default). */
  send(pdus: readonly unknown[], edus?: readonly unknown[], txnId?: string): Promise<{ status: number; body: Body }>;
}

export interface RemoteMember extends RemoteAuthor {
  readonly joinEventId: string;
}

const LOOSE = { strict: false };

/** What hashAndSignEvent does, with non-strict canonical JSON; the event id to match. */
const hashAndSignLoosely = (pdu: Pdu, rules: RoomVersionRules, key: SigningKey): BuiltRemoteEvent => {
  const { unsigned: _unsigned, signatures: _signatures, hashes: _hashes, ...covered } = pdu;
  const hashed: Pdu = { ...pdu, hashes: { sha256: encodeBase64(sha256Digest(canonicalJsonBytes(covered, LOOSE))) } };
  const redacted = redactPdu(hashed, rules.redaction);
  const signed: Pdu = { ...hashed, signatures: { [key.serverName]: { [key.keyId]: signatureOf(redacted, key, LOOSE) } } };
  return { pdu: signed, eventId: eventIdOfReferenceHash(sha256Digest(canonicalJsonBytes(redacted, LOOSE)), rules) };
};

const SUPPORTED_VERSIONS = Array.from({ length: 12 }, (_, i) => `ver=${i + 1}`).join('&');

/**
 * Joins `localpart` of `remote` to `roomId` through Strata's make_join/send_join. `viewer` is a
 * Strata user in the room: the member reads the room's latest event and state through them.
 */
export const joinAsRemote = async (remote: FakeRemoteServer, viewer: UserClient, roomId: string, localpart: string): Promise<RemoteMember> => {
  const userId = `@${localpart}:${remote.serverName}`;
  const made = await remote.request('GET', `/_matrix/federation/v1/make_join/${e(roomId)}/${e(userId)}?${SUPPORTED_VERSIONS}`);
  if (made.status !== 200) throw new Error(`make_join answered ${made.status}: ${JSON.stringify(made.body)}`);
  const rules = roomVersionRules(made.body.room_version as string);
  if (rules === undefined) throw new Error(`unknown room version ${String(made.body.room_version)}`);
  const join = hashAndSignEvent({ ...(made.body.event as Pdu), origin: remote.serverName, origin_server_ts: Date.now() }, rules, remote.key);
  const joinEventId = referenceHashEventId(join, rules);
  const joined = await remote.request('PUT', `/_matrix/federation/v2/send_join/${e(roomId)}/${e(joinEventId)}`, join);
  if (joined.status !== 200) throw new Error(`send_join answered ${joined.status}: ${JSON.stringify(joined.body)}`);
  return { ...remoteAuthor(remote, viewer, roomId, userId, rules), joinEventId };
};

/**
 * `userId` of `remote` writing events of `roomId` (of version `rules`) without joining it first.
 * The room's latest event is read through `viewer` and its depth through federation /event (the
 * room must be world_readable or have a member of `remote` for that).
 */
export const remoteAuthor = (remote: FakeRemoteServer, viewer: UserClient, roomId: string, userId: string, rules: RoomVersionRules): RemoteAuthor => {
  const latest = async (): Promise<{ eventId: string; depth: number }> => {
    const page = await viewer.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 1 });
    const eventId = (page.chunk as Body[])[0]!.event_id as string;
    const read = await remote.request('GET', `/_matrix/federation/v1/event/${e(eventId)}`);
    if (read.status !== 200) throw new Error(`/event answered ${read.status}: ${JSON.stringify(read.body)}`);
    return { eventId, depth: (read.body.pdus as Body[])[0]!.depth as number };
  };
  const authOf = async (sender: string): Promise<string[]> => {
    const state = await viewer.get(`/rooms/${e(roomId)}/state`) as unknown as Body[];
    const idOf = (type: string, stateKey = ''): string[] =>
      state.filter((event) => event.type === type && event.state_key === stateKey).map((event) => event.event_id as string);
    return [...(rules.eventFormat.roomIdIsCreateEventHash ? [] : idOf('m.room.create')), ...idOf('m.room.power_levels'), ...idOf('m.room.member', sender)];
  };

  return {
    userId, roomId, rules,
    async build(fields, options = {}) {
      const sender = fields.sender ?? userId;
      const top = await latest();
      const pdu = pduOfProto({
        roomId, sender, type: fields.type, content: fields.content, originServerTs: Date.now(), depth: top.depth + 1,
        prevEventIds: fields.prevEventIds ?? [top.eventId], authEventIds: fields.authEventIds ?? await authOf(sender),
        ...(fields.stateKey === undefined ? {} : { stateKey: fields.stateKey }),
        ...(fields.redacts === undefined ? {} : { redacts: fields.redacts }),
      }, rules);
      const withOrigin: Pdu = { ...pdu, origin: remote.serverName };
      options.before?.(withOrigin);
      const key = options.key ?? remote.key;
      if (options.loosely === true) return hashAndSignLoosely(withOrigin, rules, key);
      const signed = hashAndSignEvent(withOrigin, rules, key);
      return { pdu: signed, eventId: referenceHashEventId(signed, rules) };
    },
    send: (pdus, edus = [], txnId = `txn-${randomBytes(6).toString('hex')}`) => remote.request('PUT', `/_matrix/federation/v1/send/${e(txnId)}`, {
      origin: remote.serverName, origin_server_ts: Date.now(), pdus: pdus as JsonValue[], edus: edus as JsonValue[],
    }),
  };
};
