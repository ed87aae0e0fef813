/**
 * Strata's TLS listener (`federation.listen`): the same application as the client listener, over
 * HTTPS, as a Synapse listener with `resources: [client, federation]` and `tls: true`. Other
 * homeservers reach the federation and key endpoints there; clients may use it as well.
 */
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import type { StrataConfig } from '../config/index.ts';
import { displayListenAddress, startHttpServer, type RunningHttpServer } from './httpServer.ts';
import { loadTlsCredentials } from './tlsCredentials.ts';

/** Starts the listener when one is configured; undefined otherwise. */
export const startFederationListener = async (
  handler: RequestListener, config: Pick<StrataConfig, 'federation' | 'dataDir' | 'serverName'>, logger: Logger,
): Promise<RunningHttpServer | undefined> => {
  const listen = config.federation.listen;
  if (listen === undefined) return undefined;
  const tls = await loadTlsCredentials(config.federation, { dataDir: config.dataDir, serverName: config.serverName, logger });
  const server = await startHttpServer(handler, listen, tls);
  const address = displayListenAddress(server.address);
  logger.info({ federation_listen: address, tls_certificate: tls.source, tls_certificate_path: tls.certificatePath },
    `listening on https://${address} for federation (${tls.source} certificate ${tls.certificatePath})`);
  return server;
};
