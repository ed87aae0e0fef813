export { StartupError, reasonOf, withStartupDeadline } from './startupError.ts';
export { startHttpServer, displayListenAddress } from './httpServer.ts';
export type { RunningHttpServer } from './httpServer.ts';
export { runServer } from './runServer.ts';
export type { ServerLifecycle, RunServerOptions } from './runServer.ts';
export { SERVER_TOPIC, openClickHouse, openReadModels, openRoomLog } from './backends.ts';
export type { OpenedDatabase, OpenedLog } from './backends.ts';
export { pinServerName, probeDatabase, probeLog, recordStart } from './instance.ts';
export { loadOrCreateSigningKey } from './signingKey.ts';
