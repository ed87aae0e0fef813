/** Adapters of the content repository's ports (domain/ports/media.ts). */
export { createFsMediaStore } from './fsMediaStore.ts';
export { createSqlMediaRepository, ensureMediaSchema } from './sqlMediaRepository.ts';
