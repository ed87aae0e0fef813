/**
 * Our present users' presence, sent again to the servers sharing a room with them while nothing
 * changes: a server that hears nothing of a remote user for 30 minutes shows them offline
 * (Synapse's presence FEDERATION_TIMEOUT, as remoteEdus.ts does here), and a user who stays
 * unavailable, or online without a write, would otherwise vanish there. Synapse pings its own
 * users every 20 minutes (FEDERATION_PING_INTERVAL); so does this, one EDU per destination with
 * every user it shares a room with.
 */
import type { PresenceState } from '../../ports/userData.ts';
import type { UserDataContext } from './context.ts';
import { presenceEdu } from './federationEdus.ts';
import type { Schedule } from './typing.ts';

export const PRESENCE_PING_INTERVAL_MS = 20 * 60_000;

/** Presence updates per EDU (the receiver here takes 1,000; Synapse sends what it has). */
const PUSH_PER_EDU = 500;

export interface PresencePinger {
  /** Sends every present local user's presence to the servers sharing a room with them, now. */
  ping(): Promise<void>;
  /** Stops the pings. */
  close(): void;
}

export const startPresencePings = (
  ctx: Pick<UserDataContext, 'federation' | 'serverName' | 'clock' | 'stores'>, schedule: Schedule, granularityMs: number,
): PresencePinger => {
  let cancel: (() => void) | undefined;
  let closed = false;

  const ping = async (): Promise<void> => {
    const federation = ctx.federation;
    if (federation === undefined) return;
    const byServer = new Map<string, PresenceState[]>();
    for (const state of await ctx.stores.presence.present()) {
      if (state.userId.slice(state.userId.indexOf(':') + 1) !== ctx.serverName) continue;
      for (const server of await federation.rooms.serversSharingRoomsWith(state.userId)) {
        if (server === ctx.serverName) continue;
        let states = byServer.get(server);
        if (states === undefined) byServer.set(server, (states = []));
        states.push(state);
      }
    }
    const now = ctx.clock.now();
    for (const [server, states] of byServer) {
      for (let start = 0; start < states.length; start += PUSH_PER_EDU) {
        await federation.outbox.sendEdu([server], presenceEdu(states.slice(start, start + PUSH_PER_EDU), now, granularityMs));
      }
    }
  };

  const next = (): void => {
    if (closed) return;
    cancel = schedule(() => {
      // A ping that fails is followed by the next one; nobody waits on it.
      void ping().catch(() => undefined).finally(next);
    }, PRESENCE_PING_INTERVAL_MS);
  };
  if (ctx.federation !== undefined) next();

  return {
    ping,
    close() {
      closed = true;
      cancel?.();
    },
  };
};
