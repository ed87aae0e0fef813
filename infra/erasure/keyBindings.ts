/**
 * Binds each sealed record's content key to its event, owner and room (sqlContentKeys.ts makes keys
 * ahead, bound to nothing) in the transaction that applies the record to the rooms read model: once
 * per record, with the projection's position, and again after a crash the append outlived; one
 * statement binds all of a transaction's records. Erasing a user or an event then finds the key of
 * every record the read model holds, which is what erasure reads and rewrites anyway. Keys bound at
 * creation, and records applied again, are left alone.
 */
import type { LogEntry, SqlStatement } from '../../domain/index.ts';
import type { Projection } from '../../projections/runtime/index.ts';
import { SEALED_HEADER } from './sealing.ts';
import { CONTENT_KEYS_SCHEMA } from './sqlContentKeys.ts';

// Rows of their own (SqlStatement.independent): a transaction's bindings go in one statement.
const BIND = `UPDATE content_keys AS k SET event_id = b.event_id, room_id = b.room_id, owner = b.owner
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS b(key_id, event_id, room_id, owner)
  WHERE k.key_id = b.key_id AND k.owner IS NULL`;

/** The statement binding the entry's key, for a sealed room record (opened or, its key gone, redacted). */
export const contentKeyBinding = (entry: LogEntry): SqlStatement | undefined => {
  const keyId = entry.headers[SEALED_HEADER];
  if (keyId === undefined) return undefined;
  const value = entry.value as { readonly eventId?: unknown; readonly roomId?: unknown; readonly pdu?: { readonly sender?: unknown } } | null;
  const eventId = value?.eventId;
  const roomId = value?.roomId;
  const sender = value?.pdu?.sender;
  if (typeof eventId !== 'string' || typeof roomId !== 'string') return undefined;
  return { text: BIND, values: [[keyId], [eventId], [roomId], [typeof sender === 'string' ? sender : '']], rows: true, independent: true };
};

/** `projection` (the rooms projection) also binding the content key of each record it applies. */
export const withContentKeyBindings = (projection: Projection): Projection => ({
  ...projection,
  // The key store's table, never the projection's own: a rebuild leaves it as it is (tables).
  schema: [...CONTENT_KEYS_SCHEMA, ...projection.schema],
  evolve(entry) {
    const statements = projection.evolve(entry);
    const binding = contentKeyBinding(entry);
    return binding === undefined ? statements : [...statements, binding];
  },
});
