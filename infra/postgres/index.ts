export { createPostgresDatabase } from './postgresDatabase.ts';
export type { PostgresOptions } from './postgresDatabase.ts';
export { describeUrl } from './sqlTypes.ts';
export { applySchema } from './schema.ts';
