export { createPgliteDatabase } from './pgliteDatabase.ts';
export type { PgliteOptions } from './pgliteDatabase.ts';
