/**
 * Erasure of a user's content (docs/erasure.md): on deactivation with `erase: true`, and for
 * redacted events once the redaction retention period has passed. Destroying an event's content
 * key removes its content from the log (readers then get the redacted PDU); the read models are
 * stripped to the same redacted form, so a rebuild from offset 0 agrees with them.
 */
import type { ContentKeyStore, ErasureReadModel } from '../../ports/contentKeys.ts';

export interface ErasureContext {
  readonly keys: ContentKeyStore;
  readonly readModel: ErasureReadModel;
}

export interface ErasureResult {
  readonly keysDestroyed: number;
  readonly eventsStripped: number;
  /** The user's current room state other than their membership (room name, topic, …): kept. */
  readonly kept: readonly string[];
}

/**
 * Erases everything the user sent but the current state of rooms: a room keeps its name, its
 * encryption settings and its power levels even when the erased user set them (stripping
 * `m.room.encryption` would make clients send in clear). Their member events are erased even when
 * current: the redacted form keeps `membership`, which is all the room needs.
 */
export const eraseUser = async (ctx: ErasureContext, userId: string): Promise<ErasureResult> => {
  const kept = await ctx.readModel.currentStateSentBy(userId);
  // Keys first: once they are gone, a rebuild can no longer bring the content back.
  const keysDestroyed = await ctx.keys.destroyOwnedBy(userId, kept);
  const eventsStripped = await ctx.readModel.stripContentSentBy(userId, kept);
  return { keysDestroyed, eventsStripped, kept };
};

/** Batch of events whose keys one sweep step destroys. */
const SWEEP_BATCH = 500;

export interface RedactionSweepContext extends ErasureContext {
  readonly now: () => number;
  /** Synapse's `redaction_retention_period` in ms; null keeps redacted content forever. */
  readonly retentionMs: number | null;
}

/**
 * Destroys the content keys of events redacted more than the retention period ago. Their content
 * is already stripped from the read models (the rooms projection redacts at once); the log keeps
 * it sealed until now so a moderator can review it, as Synapse keeps it in its database.
 */
export const sweepRedactedContent = async (ctx: RedactionSweepContext): Promise<number> => {
  if (ctx.retentionMs === null) return 0;
  const cutoff = ctx.now() - ctx.retentionMs;
  let destroyed = 0;
  for (;;) {
    const eventIds = await ctx.readModel.redactedBefore(cutoff, SWEEP_BATCH);
    if (eventIds.length === 0) return destroyed;
    const count = await ctx.keys.destroyForEvents(eventIds);
    // Nothing destroyed means the read model keeps naming keys that are gone: stop, never spin.
    if (count === 0) return destroyed;
    destroyed += count;
  }
};
