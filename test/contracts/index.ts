/** Contract suites: one set of tests every adapter of a port must pass (run from each adapter's int test). */
export { describeRoomLogContract } from './roomLogContract.ts';
export { describeSqlDatabaseContract } from './sqlDatabaseContract.ts';
export { describeAccountStoreContract, type StoreUnderTest } from './accountStoreContract.ts';
export { describeUserDataStoresContract, type OpenedStores } from './userDataStoresContract.ts';
export { describeE2eeStoresContract } from './e2eeStoresContract.ts';
export { describePusherStoreContract } from './pusherStoreContract.ts';
