/**
 * The room decider: `{ initialState, decide, evolve }`. `decide` is pure — rules come from the
 * room's create event, time and keys arrive on the command, everything else through `lookups` —
 * and answers with the log records to append (see records.ts) or why there are none.
 */
import type { RoomVersionRules } from '../roomVersions/index.ts';
import type { Decision, LocalEventRequest, RoomCommand, RoomLookups } from './commands.ts';
import { decideLocalEvents, type LocalBuild } from './localEvents.ts';
import { decideRemotePdu } from './remoteEvents.ts';
import { evolve, initialRoomState, isCreated, rulesOfCreateContent, type RoomState } from './state.ts';

export { evolve, initialRoomState as initialState };

const refused = (errcode: 'M_FORBIDDEN' | 'M_NOT_FOUND' | 'M_UNSUPPORTED_ROOM_VERSION' | 'M_INVALID_PARAM', reason: string): Decision => ({
  outcome: 'refused',
  error: { errcode, reason },
});

const createRoom = (command: Extract<RoomCommand, { type: 'createRoom' }>, state: RoomState, lookups: RoomLookups): Decision => {
  if (isCreated(state)) return refused('M_INVALID_PARAM', 'the room already exists');
  const rules = rulesOfCreateContent(command.createContent);
  if (rules === undefined) return refused('M_UNSUPPORTED_ROOM_VERSION', `unsupported room version ${JSON.stringify(command.createContent.room_version)}`);
  if (!rules.eventFormat.roomIdIsCreateEventHash && command.roomId === undefined) {
    return refused('M_INVALID_PARAM', `room version ${rules.id} needs a room id chosen by the server`);
  }
  const { signingKey, local, now } = command;
  const roomIdFor = (current: RoomState): string | undefined =>
    rules.eventFormat.roomIdIsCreateEventHash ? (current.roomId ?? undefined) : command.roomId;
  const build = (request: LocalEventRequest) => (current: RoomState): LocalBuild => ({
    roomId: roomIdFor(current),
    rules: current.rules ?? rules,
    request,
    signingKey,
    local,
    now,
    ...(command.claimedAliases === undefined ? {} : { claimedAliases: command.claimedAliases }),
  });
  const createRequest: LocalEventRequest = { type: 'm.room.create', stateKey: '', sender: command.creator, content: command.createContent };
  const decision = decideLocalEvents([createRequest, ...command.events].map(build), state, lookups);
  // create_room.yaml: initial state the creator may not send (e.g. a power_level_content_override
  // that locks them out) is "400 M_INVALID_ROOM_STATE", not a 403: the request itself is inconsistent.
  if (decision.outcome === 'refused' && decision.error.errcode === 'M_FORBIDDEN') {
    return { outcome: 'refused', error: { errcode: 'M_INVALID_ROOM_STATE', reason: decision.error.reason } };
  }
  return decision;
};

const sendLocal = (command: Extract<RoomCommand, { type: 'sendLocal' }>, state: RoomState, lookups: RoomLookups): Decision => {
  if (!isCreated(state)) return refused('M_NOT_FOUND', 'unknown room');
  const build = (current: RoomState): LocalBuild => ({
    roomId: current.roomId ?? undefined,
    rules: current.rules as RoomVersionRules,
    request: command.event,
    signingKey: command.signingKey,
    local: command.local,
    now: command.now,
    deduplicateState: true,
  });
  return decideLocalEvents([build], state, lookups);
};

/** A remote PDU is judged, never found `unchanged` (only a local state event can repeat the current one). */
export function decide(command: Extract<RoomCommand, { type: 'ingestPdu' }>, state: RoomState, lookups: RoomLookups): Exclude<Decision, { outcome: 'unchanged' }>;
export function decide(command: RoomCommand, state: RoomState, lookups: RoomLookups): Decision;
export function decide(command: RoomCommand, state: RoomState, lookups: RoomLookups): Decision {
  switch (command.type) {
    case 'createRoom':
      return createRoom(command, state, lookups);
    case 'sendLocal':
      return sendLocal(command, state, lookups);
    case 'ingestPdu':
      if (!isCreated(state)) return { outcome: 'missing', eventIds: [] };
      return decideRemotePdu(command.pdu, command.receivedAt, state, lookups);
  }
}

/** The decider as one value, for runners that take any decider. */
export const roomDecider = { initialState: initialRoomState, decide, evolve } as const;
