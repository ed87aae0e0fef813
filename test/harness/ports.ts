/** Loopback ports for tests whose server name must contain the port before the listener starts. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports are drawn from below the kernel's ephemeral range: a port the kernel hands out (`listen(0)`,
 * outgoing connections) can be taken by any other test's client socket the moment a server stops,
 * which broke restarts on "the same ports". Below the range only another `freePort` can collide, and
 * random draws make that as unlikely as it gets without a shared registry.
 */
const ephemeralLow = (): number => {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && Number.isInteger(low) && low > 12_000) return low;
  } catch {
    // not Linux: fall through to the IANA dynamic range's start
  }
  return 32_768;
};

/** Above the fixed ports the project's services use (15432, 18008–19093). */
const lowest = 20_000;

const tryListen = (port: number): Promise<boolean> => new Promise((resolve) => {
  const probe = createServer();
  probe.once('error', () => resolve(false));
  probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
});

/** A port free right now on 127.0.0.1, outside the range the kernel assigns to other sockets. */
export const freePort = async (): Promise<number> => {
  const highest = ephemeralLow() - 1;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = lowest + Math.floor(Math.random() * (highest - lowest + 1));
    if (await tryListen(port)) return port;
  }
  throw new Error(`no free loopback port between ${lowest} and ${highest} after 200 draws`);
};
