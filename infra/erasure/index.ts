/** Crypto-shredding of event content in the room log, and the erasure and retention jobs (docs/erasure.md). */
export { createErasure, type Erasure, type ErasureOptions } from './erasure.ts';
export { withContentKeyBindings } from './keyBindings.ts';
export { withSealedContent, type SealedLogOptions } from './sealedLog.ts';
export { openRecord, SEALED_HEADER, sealableRecord, sealRecord, type SealedContent } from './sealing.ts';
export { cachingContentKeys, CONTENT_KEYS_SCHEMA, createSqlContentKeyStore, ensureContentKeysSchema } from './sqlContentKeys.ts';
export { createSqlErasureReadModel, ensureErasureIndexes, ERASURE_INDEXES } from './sqlErasure.ts';
