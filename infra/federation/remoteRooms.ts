/**
 * The RemoteRooms port over the outbound federation client (server-server-api § Joining Rooms,
 * § Leaving Rooms, § Inviting to a room v2, § Retrieving events, § Backfilling). Only the outer
 * shape is checked here; every event inside is untrusted and judged by the decider.
 */
import { isJsonObject, type JsonObject, type RemoteRooms } from '../../domain/index.ts';
import type { FederationClient } from './client/index.ts';
import { askRemote, badAnswer, query } from './remoteServers.ts';

export interface RemoteRoomsOptions {
  readonly client: Pick<FederationClient, 'request'>;
  /** `send_join` of a large room can take a while on the resident side (Synapse allows minutes). */
  readonly joinTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** A large room's state and auth chain; bounded so a hostile answer cannot exhaust memory. */
const JOIN_ANSWER_BYTES = 256 * 1024 * 1024;
const EVENTS_ANSWER_BYTES = 32 * 1024 * 1024;
const TEMPLATE_BYTES = 256 * 1024;
const e = encodeURIComponent;

const list = (answer: JsonObject, field: string, serverName: string, what: string): unknown[] => {
  const value = answer[field];
  if (!Array.isArray(value)) throw badAnswer(serverName, what);
  return value;
};

const strings = (answer: JsonObject, field: string, serverName: string, what: string): string[] =>
  list(answer, field, serverName, what).filter((id): id is string => typeof id === 'string' && id.length <= 255);

export const createRemoteRooms = (options: RemoteRoomsOptions): RemoteRooms => {
  const joinTimeoutMs = options.joinTimeoutMs ?? 300_000;
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  const ask = (serverName: string, what: string, method: 'GET' | 'POST' | 'PUT', path: string, body: JsonObject | undefined, limitMs: number, bytes: number) =>
    askRemote(options.client, serverName, what, method, path, body, limitMs, bytes);

  const template = async (serverName: string, what: string, path: string) => {
    const answer = await ask(serverName, what, 'GET', path, undefined, timeoutMs, TEMPLATE_BYTES);
    if (!isJsonObject(answer.event)) throw badAnswer(serverName, what);
    // make_join.yaml: room_version is optional, "1" when absent.
    const roomVersion = answer.room_version === undefined ? '1' : answer.room_version;
    if (typeof roomVersion !== 'string') throw badAnswer(serverName, what);
    return { roomVersion, event: answer.event };
  };

  return {
    makeJoin: (serverName, roomId, userId, versions) => template(serverName, 'the join template',
      `/_matrix/federation/v1/make_join/${e(roomId)}/${e(userId)}?${versions.map((v) => `ver=${e(v)}`).join('&')}`),

    async sendJoin(serverName, roomId, eventId, event) {
      const what = 'the join';
      const answer = await ask(serverName, what, 'PUT', `/_matrix/federation/v2/send_join/${e(roomId)}/${e(eventId)}`,
        event as JsonObject, joinTimeoutMs, JOIN_ANSWER_BYTES);
      return {
        state: list(answer, 'state', serverName, what),
        authChain: list(answer, 'auth_chain', serverName, what),
        ...(isJsonObject(answer.event) ? { event: answer.event } : {}),
      };
    },

    makeLeave: (serverName, roomId, userId) => template(serverName, 'the leave template',
      `/_matrix/federation/v1/make_leave/${e(roomId)}/${e(userId)}`),

    makeKnock: (serverName, roomId, userId, versions) => template(serverName, 'the knock template',
      `/_matrix/federation/v1/make_knock/${e(roomId)}/${e(userId)}?${versions.map((v) => `ver=${e(v)}`).join('&')}`),

    async sendKnock(serverName, roomId, eventId, event) {
      const answer = await ask(serverName, 'the knock', 'PUT', `/_matrix/federation/v1/send_knock/${e(roomId)}/${e(eventId)}`,
        event as JsonObject, timeoutMs, TEMPLATE_BYTES);
      return Array.isArray(answer.knock_room_state) ? answer.knock_room_state.filter(isJsonObject).slice(0, 50) : [];
    },

    async sendLeave(serverName, roomId, eventId, event) {
      await ask(serverName, 'the leave', 'PUT', `/_matrix/federation/v2/send_leave/${e(roomId)}/${e(eventId)}`, event as JsonObject, timeoutMs, TEMPLATE_BYTES);
    },

    async invite(serverName, roomId, eventId, body) {
      const what = 'the invite';
      const answer = await ask(serverName, what, 'PUT', `/_matrix/federation/v2/invite/${e(roomId)}/${e(eventId)}`, {
        room_version: body.roomVersion, event: body.event as JsonObject, invite_room_state: [...body.inviteRoomState],
      }, timeoutMs, TEMPLATE_BYTES);
      if (!isJsonObject(answer.event)) throw badAnswer(serverName, what);
      return answer.event;
    },

    async getMissingEvents(serverName, roomId, q) {
      const answer = await ask(serverName, 'missing events', 'POST', `/_matrix/federation/v1/get_missing_events/${e(roomId)}`, {
        earliest_events: [...q.earliestEvents], latest_events: [...q.latestEvents], limit: q.limit, min_depth: q.minDepth,
      }, timeoutMs, EVENTS_ANSWER_BYTES);
      return list(answer, 'events', serverName, 'missing events');
    },

    async event(serverName, eventId) {
      const answer = await ask(serverName, 'an event', 'GET', `/_matrix/federation/v1/event/${e(eventId)}`, undefined, timeoutMs, EVENTS_ANSWER_BYTES);
      return list(answer, 'pdus', serverName, 'an event')[0];
    },

    async eventAuth(serverName, roomId, eventId) {
      const answer = await ask(serverName, 'an auth chain', 'GET', `/_matrix/federation/v1/event_auth/${e(roomId)}/${e(eventId)}`, undefined, timeoutMs, EVENTS_ANSWER_BYTES);
      return list(answer, 'auth_chain', serverName, 'an auth chain');
    },

    async state(serverName, roomId, eventId) {
      const what = 'the state';
      const answer = await ask(serverName, what, 'GET', `/_matrix/federation/v1/state/${e(roomId)}${query({ event_id: eventId })}`,
        undefined, joinTimeoutMs, JOIN_ANSWER_BYTES);
      return { pdus: list(answer, 'pdus', serverName, what), authChain: list(answer, 'auth_chain', serverName, what) };
    },

    async stateIds(serverName, roomId, eventId) {
      const what = 'the state ids';
      const answer = await ask(serverName, what, 'GET', `/_matrix/federation/v1/state_ids/${e(roomId)}${query({ event_id: eventId })}`,
        undefined, timeoutMs, EVENTS_ANSWER_BYTES);
      return { pduIds: strings(answer, 'pdu_ids', serverName, what), authChainIds: strings(answer, 'auth_chain_ids', serverName, what) };
    },

    async backfill(serverName, roomId, fromEventIds, limit) {
      const answer = await ask(serverName, 'history', 'GET',
        `/_matrix/federation/v1/backfill/${e(roomId)}?${[...fromEventIds.map((id) => `v=${e(id)}`), `limit=${limit}`].join('&')}`,
        undefined, timeoutMs, EVENTS_ANSWER_BYTES);
      return list(answer, 'pdus', serverName, 'history');
    },
  };
};
