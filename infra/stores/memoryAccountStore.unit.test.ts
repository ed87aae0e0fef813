// The in-memory store the use-case tests rely on must behave like the SQL store.
import { createMemoryAccountStore } from '../../domain/app/accounts/index.ts';
import { describeAccountStoreContract } from './accountStoreContract.ts';

describeAccountStoreContract('in memory', async () => ({ store: createMemoryAccountStore(), close: async () => undefined }));
