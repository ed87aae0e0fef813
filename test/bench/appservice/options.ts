/** Command line of `npm run bench appservice`: parsed and checked before any server starts. */
import { parseArgs } from 'node:util';
import type { StrataMode } from '../federation/options.ts';

export type BridgeServer = 'strata' | 'synapse';

export interface AppserviceBenchOptions {
  /** Measured in this order, each run in turn. */
  readonly servers: readonly BridgeServer[];
  /** Offered loads, messages per second over all senders and rooms, stepped through in order. */
  readonly rates: readonly number[];
  readonly durationSeconds: number;
  readonly runs: number;
  readonly senders: number;
  readonly rooms: number;
  readonly drainSeconds: number;
  readonly maxInFlight: number;
  readonly requestTimeoutSeconds: number;
  readonly strataMode: StrataMode;
  readonly maxRuntimeSeconds: number;
}

export const usage = `usage: npm run bench appservice -- [options]
  Starts Strata (a child process, every projection running) and the Synapse of
  infra/services/synapse.sh, each with the test bridge (test/harness/testBridge.ts) registered, and
  measures room messages of local users delivered to the bridge: events/s and send → bridge latency.
  --servers LIST         comma list of strata, synapse (default: both, in this order)
  --rates LIST           offered loads in messages/s, stepped through in order (default 10,50,100)
  --duration SECONDS     sending time per step (default 20)
  --runs N               runs per server, each with fresh users and rooms (default 1)
  --senders N            local users sending (default 4), each in every room
  --rooms N              rooms the bridge's puppet is in (default 4)
  --drain SECONDS        wait for late deliveries after a step stops sending (default 30)
  --max-in-flight N      cap on outstanding sends; sends due beyond it are skipped (default 256)
  --request-timeout S    per request (default 30)
  --strata-mode MODE     distributed (Kafka + PostgreSQL, default) or embedded (log + PGlite)
  --max-runtime SECONDS  hard stop for the whole command (default: computed from the above)`;

const positive = (name: string, raw: string | undefined, fallback: number, integer = true): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return value;
};

const parseServers = (raw: string): BridgeServer[] => {
  const servers = raw.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  for (const server of servers) if (server !== 'strata' && server !== 'synapse') throw new Error(`--servers: unknown server '${server}' (known: strata, synapse)`);
  if (servers.length === 0) throw new Error('--servers names no server');
  return [...new Set(servers)] as BridgeServer[];
};

const parseRates = (raw: string): number[] => {
  const rates = raw.split(',').map((r) => r.trim()).filter((r) => r !== '').map((r) => positive('rates', r, 0, false));
  if (rates.length === 0) throw new Error('--rates names no rate');
  return rates;
};

export const parseAppserviceBenchArgs = (args: readonly string[]): AppserviceBenchOptions | 'help' => {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      servers: { type: 'string' }, rates: { type: 'string' }, duration: { type: 'string' }, runs: { type: 'string' },
      senders: { type: 'string' }, rooms: { type: 'string' }, drain: { type: 'string' },
      'max-in-flight': { type: 'string' }, 'request-timeout': { type: 'string' }, 'strata-mode': { type: 'string' },
      'max-runtime': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const strataMode = values['strata-mode'] ?? 'distributed';
  if (strataMode !== 'distributed' && strataMode !== 'embedded') throw new Error(`--strata-mode must be distributed or embedded, got '${strataMode}'`);
  const servers = values.servers === undefined ? ['strata', 'synapse'] as BridgeServer[] : parseServers(values.servers);
  const rates = values.rates === undefined ? [10, 50, 100] : parseRates(values.rates);
  const runs = positive('runs', values.runs, 1);
  const durationSeconds = positive('duration', values.duration, 20, false);
  const drainSeconds = positive('drain', values.drain, 30, false);
  // Servers start (Synapse may be installed from PyPI first), then per run: set-up, and per step sending and draining.
  const computed = 900 + servers.length * runs * (120 + rates.length * (durationSeconds + drainSeconds));
  return {
    servers, rates, durationSeconds, runs, drainSeconds, strataMode,
    senders: positive('senders', values.senders, 4),
    rooms: positive('rooms', values.rooms, 4),
    maxInFlight: positive('max-in-flight', values['max-in-flight'], 256),
    requestTimeoutSeconds: positive('request-timeout', values['request-timeout'], 30, false),
    maxRuntimeSeconds: positive('max-runtime', values['max-runtime'], Math.ceil(computed), false),
  };
};
