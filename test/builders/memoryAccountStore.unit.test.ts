// The in-memory store the use-case tests rely on must behave like the SQL store.
import { createMemoryAccountStore } from '../../test/builders/index.ts';

import { describeAccountStoreContract } from '../../test/contracts/index.ts';

describeAccountStoreContract('in memory', async () => ({ store: createMemoryAccountStore(), close: async () => undefined }));
