/** Command line of `npm run bench sliding-sync`: parsed and checked before anything is sent. */
import { isLoopbackUrl, SYNAPSE_URL } from '../cs/options.ts';

export interface Target {
  readonly label: string;
  readonly url: string;
  readonly sharedSecret: string;
}

export interface SlidingSyncBenchOptions {
  readonly targets: readonly Target[];
  readonly startSynapse: boolean;
  /** Rooms the measured user is joined to. */
  readonly rooms: number;
  /** Runs per server; each has `firsts` new connections and `incrementals` incremental requests. */
  readonly runs: number;
  readonly firsts: number;
  readonly incrementals: number;
  /** The list's window: rooms [0, window - 1] by recency. */
  readonly window: number;
  /** Also enable the account_data, receipts and typing extensions on the list (as Element X's room list). */
  readonly extensions: boolean;
}

export const usage = `usage: npm run bench sliding-sync -- --url URL --shared-secret S [options]
  --url URL                    homeserver under test (client-server API base URL)
  --shared-secret S            its registration shared secret (Synapse-compatible admin register)
  --label NAME                 column name for it (default Strata)
  --start-synapse              run infra/services/synapse.sh start and measure Synapse beside it
                               (stopped afterwards if this command started it)
  --baseline-url URL           or another server as the baseline
  --baseline-shared-secret S   (default $STRATA_SYNAPSE_SHARED_SECRET or synapse-bench-secret)
  --baseline-label NAME        (default Synapse)
  --rooms N                    rooms the measured user is in (default 1000); kept between runs
  --runs N                     runs per server (default 3)
  --firsts N                   first requests of new connections per run (default 10)
  --incrementals N             incremental requests per run, each after a message (default 20)
  --window N                   rooms in the list's range (default 20)
  --no-extensions              without the account_data, receipts and typing extensions
  --allow-remote               permit non-loopback URLs (refused by default)`;

const positive = (name: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, got '${raw}'`);
  return value;
};

/** Throws naming what is wrong; 'help' for --help. */
export const parseSlidingSyncBenchArgs = (
  args: readonly string[], env: Readonly<Record<string, string | undefined>>,
): SlidingSyncBenchOptions | 'help' => {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const FLAGS = new Set(['start-synapse', 'no-extensions', 'allow-remote', 'help']);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const name = arg.slice(2);
    if (FLAGS.has(name)) flags.add(name);
    else if (i + 1 < args.length) values.set(name, args[++i]!);
    else throw new Error(`${arg} needs a value`);
  }
  if (flags.has('help')) return 'help';
  const known = new Set(['url', 'shared-secret', 'label', 'baseline-url', 'baseline-shared-secret', 'baseline-label',
    'rooms', 'runs', 'firsts', 'incrementals', 'window']);
  for (const name of values.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}`);
  const startSynapse = flags.has('start-synapse');
  const targets: Target[] = [];
  const url = values.get('url');
  if (url !== undefined) {
    const sharedSecret = values.get('shared-secret');
    if (sharedSecret === undefined) throw new Error('--shared-secret is required with --url');
    targets.push({ url, sharedSecret, label: values.get('label') ?? 'Strata' });
  }
  const baselineUrl = startSynapse ? SYNAPSE_URL : values.get('baseline-url');
  if (startSynapse && values.has('baseline-url')) throw new Error('--start-synapse and --baseline-url exclude each other');
  if (baselineUrl !== undefined) {
    const sharedSecret = values.get('baseline-shared-secret') ?? env.STRATA_SYNAPSE_SHARED_SECRET ?? 'synapse-bench-secret';
    targets.push({ url: baselineUrl, sharedSecret, label: values.get('baseline-label') ?? 'Synapse' });
  }
  if (targets.length === 0) throw new Error('give --url, --start-synapse or --baseline-url');
  if (!flags.has('allow-remote')) {
    for (const target of targets) if (!isLoopbackUrl(target.url)) throw new Error(`${target.url} is not a loopback URL (--allow-remote to permit it)`);
  }
  const window = positive('window', values.get('window'), 20);
  const rooms = positive('rooms', values.get('rooms'), 1000);
  if (window > rooms) throw new Error('--window must not exceed --rooms');
  return {
    targets, startSynapse, rooms, window,
    runs: positive('runs', values.get('runs'), 3),
    firsts: positive('firsts', values.get('firsts'), 10),
    incrementals: positive('incrementals', values.get('incrementals'), 20),
    extensions: !flags.has('no-extensions'),
  };
};
