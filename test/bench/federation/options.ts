/** Command line of `npm run bench federation`: parsed and checked before any server starts. */
import { parseArgs } from 'node:util';

export const PAIRS = ['strata-strata', 'strata-synapse', 'synapse-strata', 'synapse-synapse'] as const;
export type PairName = (typeof PAIRS)[number];
export type ServerKind = 'strata' | 'synapse';
export type StrataMode = 'distributed' | 'embedded';

export interface FederationBenchOptions {
  /** In the order given on the command line (default: all four, Synapse → Synapse last). */
  readonly pairs: readonly PairName[];
  /** Messages per second offered by the sending server's users together. */
  readonly rate: number;
  readonly durationSeconds: number;
  readonly runs: number;
  readonly senders: number;
  /** Users of the receiving server long-polling /sync in the room. */
  readonly listeners: number;
  readonly drainSeconds: number;
  readonly maxInFlight: number;
  readonly requestTimeoutSeconds: number;
  readonly strataMode: StrataMode;
  readonly keepSynapse: boolean;
  readonly maxRuntimeSeconds: number;
}

export const usage = `usage: npm run bench federation -- [options]
  Starts the servers it needs (Strata as child processes, Synapse through infra/services/synapse.sh
  as TLS federation peers) and measures room messages sent on one server and read on another.
  --pairs LIST           comma list of sender-receiver pairs (default: all, in this order)
                         ${PAIRS.join(', ')}
  --rate N               messages per second offered by the sending server's users (default 10)
  --duration SECONDS     sending time per run (default 30)
  --runs N               runs per pair, each in a fresh room with fresh users (default 1)
  --senders N            sending users on the sending server (default 4)
  --listeners N          users on the receiving server long-polling a filtered /sync (default 3)
  --drain SECONDS        wait for late arrivals after sending stops (default 30)
  --max-in-flight N      cap on outstanding sends; sends due beyond it are skipped (default 256)
  --request-timeout S    per request; sync long-polls get 30 s on top (default 30)
  --strata-mode MODE     distributed (Kafka + PostgreSQL, default) or embedded (log + PGlite)
  --keep-synapse         leave the Synapse peers this command started running
  --max-runtime SECONDS  hard stop for the whole command (default: computed from the above)`;

const positive = (name: string, raw: string | undefined, fallback: number, integer = true): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return value;
};

const isPair = (value: string): value is PairName => (PAIRS as readonly string[]).includes(value);

/** Accepts `strata-synapse`, `strata→synapse` and `Strata->Synapse` alike. */
export const parsePairs = (raw: string): PairName[] => {
  const pairs = raw.split(',').map((p) => p.trim().toLowerCase().replace(/\s*(->|→|:)\s*/, '-')).filter((p) => p !== '');
  for (const pair of pairs) if (!isPair(pair)) throw new Error(`--pairs: unknown pair '${pair}' (known: ${PAIRS.join(', ')})`);
  if (pairs.length === 0) throw new Error('--pairs names no pair');
  return [...new Set(pairs)] as PairName[];
};

export const pairKinds = (pair: PairName): [sender: ServerKind, receiver: ServerKind] => pair.split('-') as [ServerKind, ServerKind];

export const parseFederationBenchArgs = (args: readonly string[]): FederationBenchOptions | 'help' => {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      pairs: { type: 'string' }, rate: { type: 'string' }, duration: { type: 'string' }, runs: { type: 'string' },
      senders: { type: 'string' }, listeners: { type: 'string' }, drain: { type: 'string' },
      'max-in-flight': { type: 'string' }, 'request-timeout': { type: 'string' }, 'strata-mode': { type: 'string' },
      'keep-synapse': { type: 'boolean' }, 'max-runtime': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const strataMode = values['strata-mode'] ?? 'distributed';
  if (strataMode !== 'distributed' && strataMode !== 'embedded') throw new Error(`--strata-mode must be distributed or embedded, got '${strataMode}'`);
  const pairs = values.pairs === undefined ? [...PAIRS] : parsePairs(values.pairs);
  const runs = positive('runs', values.runs, 1);
  const durationSeconds = positive('duration', values.duration, 30, false);
  const drainSeconds = positive('drain', values.drain, 30, false);
  // Servers start (Synapse may be installed from PyPI first), then per run: set-up, sending, draining.
  const computed = 900 + pairs.length * runs * (120 + durationSeconds + drainSeconds);
  return {
    pairs,
    rate: positive('rate', values.rate, 10, false),
    durationSeconds,
    runs,
    senders: positive('senders', values.senders, 4),
    listeners: positive('listeners', values.listeners, 3),
    drainSeconds,
    maxInFlight: positive('max-in-flight', values['max-in-flight'], 256),
    requestTimeoutSeconds: positive('request-timeout', values['request-timeout'], 30, false),
    strataMode,
    keepSynapse: values['keep-synapse'] === true,
    maxRuntimeSeconds: positive('max-runtime', values['max-runtime'], Math.ceil(computed), false),
  };
};
