/** Test harness for end-to-end tests: Strata in-process in either deployment, and a typed HTTP client. */
export { startTestServer, type ServerMode, type TestServer, type TestServerOptions } from './server.ts';
export {
  MatrixClient, UserClient, PASSWORD, e,
  type Body, type ExpectedError, type Query, type Reply, type RequestOptions, type Session, type SyncWait,
} from './client.ts';
export { ephemeralOf, inviteStateOf, messageBodies, timelineOf, type TimelineEvent } from './syncViews.ts';
export { quietSdkRootLogger, recordingSdkLogger, sdkClientFor, startSyncing, waitForEmit } from './sdk.ts';
export * from './roomsStack.ts';
export { openTestSchema, type TestSchema } from './postgresSchema.ts';
export { readModelBackends, type ReadModelBackend } from './readModelBackends.ts';
export { serveTestApp, type TestApp } from './httpTestApp.ts';
export { syncTestClient, V3, type SyncSession, type SyncTestClient } from './syncTestClient.ts';
export { freePort } from './ports.ts';
export { TransactionRecorder, type ReceivedTransaction, type RemoteBehaviour } from './transactionRecorder.ts';
export { startMailbox, type Mailbox, type ReceivedMail } from './mailbox.ts';
export { startIdentityServer, type StoredInvite, type TestIdentityServer } from './identityServer.ts';
export { FEDERATION_ON_LOOPBACK } from './hostileRoom.ts';
export { startFakeRemoteServer, type FakeRemoteServer } from './fakeRemoteServer.ts';
export { waitForWarehouseCommitted } from './warehouse.ts';
