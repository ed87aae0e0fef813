/**
 * What a suspended account may not do in rooms (client-server-api § Account suspension, since
 * v1.13). The spec's recommended forbidden set: joining or knocking, sending or accepting invites,
 * sending messages, redacting other users' events. It asks servers to keep allowed: leaving rooms,
 * rejecting invites and redacting one's own events. As Synapse, anything else a suspended user
 * would write into a room (state changes, kicks, bans, new rooms) is refused too.
 *
 * The check wraps the room writer, the one door every local room write goes through, so the room
 * use-cases need no change and a new one cannot forget it.
 */
import type { JsonObject } from '../../json.ts';
import { userSuspendedError } from './moderation.ts';

/** The parts of the room writer (domain/app/rooms/roomWriter.ts) the guard looks at. */
export interface SuspensionGuardedWriter {
  createRoom(request: { readonly creator: string }): Promise<unknown>;
  send(
    roomId: string,
    event: { readonly type: string; readonly stateKey?: string; readonly sender: string; readonly content: JsonObject; readonly redacts?: string },
    local: unknown,
  ): Promise<unknown>;
}

export interface SuspensionGuardDeps {
  isSuspended(userId: string): Promise<boolean>;
  /** The sender of an event, to let a suspended user redact their own events only. */
  eventSender(eventId: string): Promise<string | undefined>;
}

/** Why `event` is refused for a suspended sender, or undefined when it is allowed. */
const refusal = async (
  event: Parameters<SuspensionGuardedWriter['send']>[1],
  deps: SuspensionGuardDeps,
): Promise<string | undefined> => {
  if (event.type === 'm.room.member') {
    // Leaving and rejecting an invite are the same event: the user's own `leave`.
    if (event.stateKey === event.sender && event.content.membership === 'leave') return undefined;
    return event.stateKey === event.sender ? 'join rooms' : 'change the membership of others';
  }
  if (event.type === 'm.room.redaction') {
    const redacts = event.redacts ?? (typeof event.content.redacts === 'string' ? event.content.redacts : undefined);
    if (redacts !== undefined && (await deps.eventSender(redacts)) === event.sender) return undefined;
    return "redact other users' events";
  }
  return 'send events to rooms';
};

/** The writer, refusing with 403 M_USER_SUSPENDED what a suspended local user may not write. */
export const withSuspensionGuard = <W extends SuspensionGuardedWriter>(writer: W, deps: SuspensionGuardDeps): W => {
  const guarded: SuspensionGuardedWriter = {
    async createRoom(request) {
      if (await deps.isSuspended(request.creator)) throw userSuspendedError('create rooms');
      return writer.createRoom(request);
    },
    async send(roomId, event, local) {
      if (await deps.isSuspended(event.sender)) {
        const reason = await refusal(event, deps);
        if (reason !== undefined) throw userSuspendedError(reason);
      }
      return writer.send(roomId, event, local);
    },
  };
  // The request objects pass through untouched, so W's own (richer) signatures still hold.
  return { ...writer, ...guarded } as W;
};
