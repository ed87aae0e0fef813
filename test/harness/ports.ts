/** Loopback ports for tests whose server name must contain the port before the listener starts. */
import { createServer, type AddressInfo } from 'node:net';

/** A port free right now on 127.0.0.1 (another process may take it before it is used). */
export const freePort = (): Promise<number> => new Promise((resolve, reject) => {
  const probe = createServer();
  probe.once('error', reject);
  probe.listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as AddressInfo;
    probe.close(() => resolve(port));
  });
});
