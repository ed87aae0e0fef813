/**
 * The server process: read the config, run Strata (infra/strata.ts), and stop cleanly on
 * SIGTERM/SIGINT. Start-up failures print one line and exit non-zero (infra/server/runServer.ts).
 */
import { loadConfig } from './config/index.ts';
import { createLogger } from './observability/index.ts';
import { runServer } from './server/index.ts';
import { startStrata } from './strata.ts';

await runServer(async (lifecycle) => {
  const config = loadConfig(process.env);
  const logger = lifecycle.useLogger(createLogger({ level: config.logLevel }));
  await startStrata(config, logger, lifecycle);
});
