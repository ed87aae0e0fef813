export { createEmbeddedLog, type EmbeddedLogLogger, type EmbeddedLogOptions } from './embeddedLog.ts';
export { murmur2, partitionForKey } from './partitioner.ts';
