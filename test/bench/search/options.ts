/** Command line of `npm run bench search`: parsed and checked before any server starts. */
import { parseArgs } from 'node:util';

export type SearchServer = 'strata' | 'synapse';

export interface SearchBenchOptions {
  readonly servers: readonly SearchServer[];
  /** Messages in the corpus (text messages; room set-up and reactions come on top). */
  readonly messages: number;
  readonly rooms: number;
  /** Concurrent searching clients. */
  readonly clients: number;
  /** Seconds of load per search kind and server. */
  readonly durationSeconds: number;
  /** Messages sent through Synapse's API (beside each room's first); the rest are copied in its tables. */
  readonly apiMessages: number;
  readonly days: number;
  readonly seed: number;
  readonly requestTimeoutSeconds: number;
  /** Leave the Synapse it started (and its database) running instead of stopping and dropping them. */
  readonly keepSynapse: boolean;
  readonly maxRuntimeSeconds: number;
}

export const usage = `usage: npm run bench search -- [options]
  Loads one corpus of messages into Strata (distributed: Kafka + PostgreSQL, a process of its own,
  search_language english as Synapse) and into a Synapse on PostgreSQL of its own (infra/services/
  synapse.sh, port 18031, database synapse_searchbench, started and afterwards stopped and dropped),
  then runs the same searches on each from concurrent clients: queries/s and latency p50/p99.
  --servers LIST        strata, synapse (default both, in this order)
  --messages N          corpus messages (default 1000000, the reference run)
  --rooms N             rooms of the long-tail distribution (default messages/2000, 20 to 1000)
  --clients N           concurrent searching clients (default 8)
  --duration SECONDS    load per search kind and server (default 15)
  --api-messages N      messages sent through Synapse's client API before copying (default 2000)
  --days N              the messages span this many days, ending now (default 365)
  --seed N              corpus seed (default 1)
  --request-timeout S   per request (default 60)
  --keep-synapse        leave the Synapse this command started, and its database
  --max-runtime SECONDS hard stop (default: computed from the above)`;

const positive = (name: string, raw: string | undefined, fallback: number, minimum = 1): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`--${name} must be an integer of at least ${minimum}, got '${raw}'`);
  return value;
};

const parseServers = (raw: string): SearchServer[] => {
  const servers = raw.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  for (const server of servers) if (server !== 'strata' && server !== 'synapse') throw new Error(`--servers: unknown server '${server}' (known: strata, synapse)`);
  if (servers.length === 0) throw new Error('--servers names no server');
  return [...new Set(servers)] as SearchServer[];
};

export const parseSearchBenchArgs = (args: readonly string[]): SearchBenchOptions | 'help' => {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      servers: { type: 'string' }, messages: { type: 'string' }, rooms: { type: 'string' }, clients: { type: 'string' },
      duration: { type: 'string' }, 'api-messages': { type: 'string' }, days: { type: 'string' }, seed: { type: 'string' },
      'request-timeout': { type: 'string' }, 'keep-synapse': { type: 'boolean' }, 'max-runtime': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const servers = values.servers === undefined ? ['strata', 'synapse'] as SearchServer[] : parseServers(values.servers);
  const messages = positive('messages', values.messages, 1_000_000, 100);
  const durationSeconds = positive('duration', values.duration, 15);
  // Loading at a few thousand messages a second, Synapse's rooms and API messages at ~50/s, then the load.
  const computed = 1200 + messages / 500 + servers.length * 8 * (durationSeconds + 30);
  return {
    servers, messages, durationSeconds,
    rooms: positive('rooms', values.rooms, Math.min(1000, Math.max(20, Math.round(messages / 2000)))),
    clients: positive('clients', values.clients, 8),
    apiMessages: positive('api-messages', values['api-messages'], 2000, 0),
    days: positive('days', values.days, 365),
    seed: positive('seed', values.seed, 1, 0),
    requestTimeoutSeconds: positive('request-timeout', values['request-timeout'], 60),
    keepSynapse: values['keep-synapse'] === true,
    maxRuntimeSeconds: positive('max-runtime', values['max-runtime'], Math.ceil(computed)),
  };
};
