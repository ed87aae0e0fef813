/** Request bodies of these endpoints are JSON objects; account data and keys may be sizeable. */
export const MAX_BODY_BYTES = 64 * 1024;
/** to-device and key uploads/claims carry many entries (Synapse allows large batches). */
export const MAX_BATCH_BODY_BYTES = 1024 * 1024;
/** Key backup uploads carry many sessions at once (clients restore or re-upload whole backups). */
export const MAX_ROOM_KEYS_BODY_BYTES = 8 * 1024 * 1024;
