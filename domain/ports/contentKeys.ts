/**
 * Content keys: the data keys that seal event content in the room log (docs/erasure.md). Every
 * sealed event has its own key, owned by the event's sender; destroying the key is what removes the
 * content from the log, which is append-only. The store is not a read model: a rebuild must never
 * empty it, or every sealed event would read as redacted.
 */

export interface ContentKey {
  /** Random id written beside the ciphertext in the log. */
  readonly keyId: string;
  /** 32 bytes (AES-256). */
  readonly key: Uint8Array;
}

/** The event a key seals. */
export interface ContentKeyUse {
  readonly eventId: string;
  readonly roomId: string;
  /** The event's sender: erasing this user destroys the key. */
  readonly owner: string;
}

export interface ContentKeyStore {
  /**
   * One durable key for each use, in order; resolves before the records they seal may be appended.
   * Keys are made ahead, so an append does not wait for the database. Which event a key seals is
   * recorded with the record in the rooms read model's transaction (the store's adapter binds it
   * there), so erasing the owner or the event finds every key whose record was applied.
   */
  reserve(uses: readonly ContentKeyUse[]): Promise<ContentKey[]>;
  /** The keys still held among `keyIds`; destroyed (or never stored) ids are absent. */
  lookup(keyIds: readonly string[]): Promise<ReadonlyMap<string, Uint8Array>>;
  /** Destroys every key owned by `owner` except those of `keepEventIds`; answers how many went. */
  destroyOwnedBy(owner: string, keepEventIds: readonly string[]): Promise<number>;
  /** Destroys the keys of these events; answers how many went. */
  destroyForEvents(eventIds: readonly string[]): Promise<number>;
}

/** What erasure and retention ask of the rooms read model (and of the key store beside it). */
export interface ErasureReadModel {
  /** The user's events that are the current state of a room, other than their membership: kept. */
  currentStateSentBy(userId: string): Promise<string[]>;
  /** Replaces the stored PDU of the user's events (but `keepEventIds`) by its redacted form. */
  stripContentSentBy(userId: string, keepEventIds: readonly string[]): Promise<number>;
  /** Events redacted (redaction accepted) before `cutoff` ms whose content keys still exist. */
  redactedBefore(cutoff: number, limit: number): Promise<string[]>;
  /** Rooms with events, and the content of their current `m.room.retention` event if any. */
  retentionPolicies(): Promise<{ roomId: string; content: Record<string, unknown> | null }[]>;
  /**
   * Deletes up to `limit` of the room's events accepted before `cutoff` ms that are not state
   * events and not the room's newest event; answers their ids.
   */
  purgeBefore(roomId: string, cutoff: number, limit: number): Promise<string[]>;
}
