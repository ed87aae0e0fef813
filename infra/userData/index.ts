/** SQL stores for per-user data and the ephemeral streams (PostgreSQL and PGlite). */
import type { SqlDatabase, UserDataStores } from '../../domain/app/userData/index.ts';
import { createSqlAccountDataStore } from './accountDataStore.ts';
import { createSqlCrossSigningStore } from './crossSigningStore.ts';
import { createSqlFilterStore } from './filterStore.ts';
import { createSqlKeyBackupStore } from './keyBackupStore.ts';
import { createSqlKeyStore } from './keyStore.ts';
import { createSqlPresenceStore } from './presenceStore.ts';
import { createSqlPusherStore } from './pusherStore.ts';
import { createSqlReceiptStore } from './receiptStore.ts';
import { ensureUserDataSchema } from './schema.ts';
import { currentPositions } from './streams.ts';
import { createSqlToDeviceStore } from './toDeviceStore.ts';

export { ensureUserDataSchema, USER_DATA_SCHEMA } from './schema.ts';
export {
  createSqlAccountDataStore, createSqlFilterStore, createSqlKeyStore, createSqlPresenceStore, createSqlReceiptStore,
  createSqlToDeviceStore, createSqlCrossSigningStore, createSqlKeyBackupStore, createSqlPusherStore,
};

/** Applies the schema and opens every store on `db`. */
export const createSqlUserDataStores = async (db: SqlDatabase): Promise<UserDataStores> => {
  await ensureUserDataSchema(db);
  return {
    currentPositions: () => currentPositions(db),
    accountData: createSqlAccountDataStore(db),
    filters: createSqlFilterStore(db),
    receipts: createSqlReceiptStore(db),
    toDevice: createSqlToDeviceStore(db),
    keys: createSqlKeyStore(db),
    presence: createSqlPresenceStore(db),
    crossSigning: createSqlCrossSigningStore(db),
    keyBackups: createSqlKeyBackupStore(db),
    pushers: createSqlPusherStore(db),
  };
};
