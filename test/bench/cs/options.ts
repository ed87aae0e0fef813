/** Command line of `npm run bench cs`: parsed and checked before anything is sent. */
import { parseArgs } from 'node:util';

export interface Target {
  readonly label: string;
  readonly url: string;
  readonly sharedSecret: string;
  /** What the server stores its data in, as stated on the command line (or read from Synapse's config). */
  readonly database?: string;
  /** Its Prometheus /metrics, read around each step for where the latency went inside (serverStages.ts). */
  readonly metricsUrl?: string;
}

export interface CsBenchOptions {
  readonly targets: readonly Target[];
  /** Offered send rates (messages per second over all senders), tried in order. */
  readonly rates: readonly number[];
  /** Keep multiplying the last rate by `stepFactor` until a step is not sustained or maxRate is passed. */
  readonly findMax: boolean;
  readonly stepFactor: number;
  readonly maxRate: number;
  readonly durationSeconds: number;
  readonly clients: number;
  readonly rooms: number;
  readonly listenersPerRoom: number;
  /** Message i is sent by a listener of its room (every member listens) instead of by separate sender users. */
  readonly membersSend: boolean;
  /** Listeners sync with the message filter (timeline limit `timelineLimit`); false: plain /sync. */
  readonly filter: boolean;
  readonly timelineLimit: number;
  /** Outstanding sends allowed; undefined: each step's own (inFlightCapFor). */
  readonly maxInFlight: number | undefined;
  readonly drainSeconds: number;
  readonly requestTimeoutSeconds: number;
  /** A step is sustained only while its delivery p99 stays at or under this. */
  readonly p99BoundMs: number;
  readonly maxRuntimeSeconds: number;
  readonly startSynapse: boolean;
  readonly keepSynapse: boolean;
  /** `--trace`: where every message's timeline is written as CSV. */
  readonly tracePath?: string;
}

export const SYNAPSE_URL = 'http://127.0.0.1:18008';

export const usage = `usage: npm run bench cs -- --url URL --shared-secret S [options]
  --url URL                    homeserver under test (client-server API base URL)
  --shared-secret S            its registration shared secret (Synapse-compatible admin register)
  --label NAME                 column name for it (default: the server's federation version name)
  --database TEXT              what it stores its data in, printed beside its figures
  --metrics-url URL            its Prometheus /metrics (Strata's metrics listener): each step also
                               prints where a message's time went inside the server (p50 / p99 ms
                               of a send's queue, decide, append and apply stages and of a woken
                               /sync's answer)
  --baseline-url URL           a second server run with the same scenario, printed side by side
  --baseline-shared-secret S   (default $STRATA_SYNAPSE_SHARED_SECRET or synapse-bench-secret)
  --baseline-label NAME
  --baseline-database TEXT     (with --start-synapse: read from the config synapse.sh wrote)
  --start-synapse              run infra/services/synapse.sh start and use Synapse as the baseline
                               (or as the only server when --url is not given); stopped afterwards
                               if this command started it, unless --keep-synapse
  --rate N                     messages per second over all senders (default 200)
  --rates N,N,...              several rates in one run
  --find-max                   step the rate up from --rate (x--step-factor, default 2) up to
                               --max-rate (default 5000) until delivery is not sustained
  --duration SECONDS           sending time per rate (default 30)
  --clients N                  sender users (default 20)
  --rooms N                    rooms (default 10)
  --listeners-per-room N       listening users per room, each long-polling /sync (default 1;
                               --listeners is the same)
  --members-send               message i is sent by a listener of room i mod rooms (every member
                               of a room listens; --clients is then unused)
  --filter                     listeners sync with a filter: only m.room.message in their room, no
                               state, presence, ephemeral or account data (the default)
  --no-filter                  listeners use plain /sync (every section, no timeline limit)
  --timeline-limit N           the filter's timeline limit (default 1000)
  --max-in-flight N            cap on outstanding sends; sends due beyond it are skipped (default:
                               rate × --p99-bound, at least 256, so the cap never binds before
                               the latency bound does)
  --drain SECONDS              wait for late deliveries after sending stops (default 15)
  --request-timeout SECONDS    per request, sync long-polls get 30 s on top (default 30)
  --p99-bound MS               a rate is sustained while delivery p99 <= this (default 2000)
  --max-runtime SECONDS        hard stop for the whole command (default: computed from the above)
  --trace FILE                 also write every message's send start, send time and last delivery
                               as CSV (one row per message, every server and rate), to find when
                               in a run the slow ones were
  --allow-remote               permit non-loopback URLs (refused by default)`;

/**
 * A step's default cap on outstanding sends: what the rate puts in flight at the p99 bound. A fixed
 * cap below it (256 at 1,000/s) skipped sends whenever latency passed 256 ms for a moment: a step
 * failed on less than its own latency bound, and the skipped sends' waits were missing from its
 * figures. Still bounded, so a server that stops answering does not run the generator out of sockets.
 */
export const inFlightCapFor = (rate: number, p99BoundMs: number): number => Math.max(256, Math.ceil((rate * p99BoundMs) / 1000));

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

export const isLoopbackUrl = (raw: string): boolean => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return LOOPBACK_HOSTS.has(url.hostname) || /^127(\.\d{1,3}){3}$/.test(url.hostname);
};

const positive = (name: string, raw: string | undefined, fallback: number, integer = true): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return value;
};

const checkUrl = (name: string, raw: string, allowRemote: boolean): string => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`--${name} is not a URL: '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--${name} must be http(s): '${raw}'`);
  if (!allowRemote && !isLoopbackUrl(raw)) {
    throw new Error(`--${name} ${raw} is not a loopback address; pass --allow-remote to load a remote server`);
  }
  return raw.replace(/\/+$/, '');
};

/** Throws an Error whose message is meant for the user; `env` supplies the Synapse secret default. */
export const parseCsBenchArgs = (args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): CsBenchOptions | 'help' => {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' }, 'shared-secret': { type: 'string' }, label: { type: 'string' }, database: { type: 'string' },
      'metrics-url': { type: 'string' },
      'baseline-url': { type: 'string' }, 'baseline-shared-secret': { type: 'string' }, 'baseline-label': { type: 'string' },
      'baseline-database': { type: 'string' },
      'start-synapse': { type: 'boolean' }, 'keep-synapse': { type: 'boolean' },
      rate: { type: 'string' }, rates: { type: 'string' }, 'find-max': { type: 'boolean' },
      'step-factor': { type: 'string' }, 'max-rate': { type: 'string' },
      duration: { type: 'string' }, clients: { type: 'string' }, rooms: { type: 'string' }, listeners: { type: 'string' },
      'listeners-per-room': { type: 'string' }, 'members-send': { type: 'boolean' },
      filter: { type: 'boolean' }, 'no-filter': { type: 'boolean' }, 'timeline-limit': { type: 'string' },
      'max-in-flight': { type: 'string' }, drain: { type: 'string' }, 'request-timeout': { type: 'string' },
      'p99-bound': { type: 'string' }, 'max-runtime': { type: 'string' }, trace: { type: 'string' },
      'allow-remote': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const allowRemote = values['allow-remote'] === true;
  const startSynapse = values['start-synapse'] === true;
  const synapseSecret = env.STRATA_SYNAPSE_SHARED_SECRET ?? 'synapse-bench-secret';

  const targets: Target[] = [];
  if (values.url !== undefined) {
    if (values['shared-secret'] === undefined) throw new Error('--shared-secret is required with --url');
    targets.push({
      label: values.label ?? '', url: checkUrl('url', values.url, allowRemote), sharedSecret: values['shared-secret'],
      ...(values.database === undefined ? {} : { database: values.database }),
      ...(values['metrics-url'] === undefined ? {} : { metricsUrl: checkUrl('metrics-url', values['metrics-url'], allowRemote) }),
    });
  } else if (!startSynapse) {
    throw new Error('--url is required (or --start-synapse to measure Synapse alone)');
  }
  if (values['baseline-url'] !== undefined && startSynapse) throw new Error('--baseline-url and --start-synapse both name a baseline; pass one');
  if (values['baseline-url'] !== undefined || startSynapse) {
    targets.push({
      label: values['baseline-label'] ?? '',
      url: startSynapse ? SYNAPSE_URL : checkUrl('baseline-url', values['baseline-url'] as string, allowRemote),
      sharedSecret: values['baseline-shared-secret'] ?? synapseSecret,
      ...(values['baseline-database'] === undefined ? {} : { database: values['baseline-database'] }),
    });
  }

  const rate = positive('rate', values.rate, 200, false);
  const rates = values.rates === undefined ? [rate] : values.rates.split(',').map((r) => positive('rates', r.trim(), 0, false));
  if (values.rates !== undefined && values['find-max'] === true) throw new Error('pass either --rates or --find-max');
  const findMax = values['find-max'] === true;
  const stepFactor = positive('step-factor', values['step-factor'], 2, false);
  if (stepFactor <= 1) throw new Error('--step-factor must be greater than 1');
  const maxRate = positive('max-rate', values['max-rate'], 5000, false);
  const durationSeconds = positive('duration', values.duration, 30, false);
  const drainSeconds = positive('drain', values.drain, 15, false);
  const requestTimeoutSeconds = positive('request-timeout', values['request-timeout'], 30, false);
  if (values.listeners !== undefined && values['listeners-per-room'] !== undefined) {
    throw new Error('--listeners is --listeners-per-room; pass one');
  }
  if (values.filter === true && values['no-filter'] === true) throw new Error('pass either --filter or --no-filter');
  if (values['no-filter'] === true && values['timeline-limit'] !== undefined) throw new Error('--timeline-limit needs the filter');
  if (values['members-send'] === true && values.clients !== undefined) throw new Error('--members-send sends from the listeners; --clients is unused');
  const steps = findMax ? Math.ceil(Math.log(maxRate / rate) / Math.log(stepFactor)) + 1 : rates.length;
  // Per server: set-up, then for each step sending + draining; plus time to start Synapse.
  const computedRuntime = targets.length * (180 + steps * (durationSeconds + drainSeconds + requestTimeoutSeconds + 10)) + (startSynapse ? 900 : 0);

  return {
    targets,
    rates,
    findMax,
    stepFactor,
    maxRate,
    durationSeconds,
    clients: positive('clients', values.clients, 20),
    rooms: positive('rooms', values.rooms, 10),
    listenersPerRoom: values.listeners === undefined
      ? positive('listeners-per-room', values['listeners-per-room'], 1)
      : positive('listeners', values.listeners, 1),
    membersSend: values['members-send'] === true,
    filter: values['no-filter'] !== true,
    timelineLimit: positive('timeline-limit', values['timeline-limit'], 1000),
    maxInFlight: values['max-in-flight'] === undefined ? undefined : positive('max-in-flight', values['max-in-flight'], 256),
    drainSeconds,
    requestTimeoutSeconds,
    p99BoundMs: positive('p99-bound', values['p99-bound'], 2000, false),
    maxRuntimeSeconds: positive('max-runtime', values['max-runtime'], Math.ceil(computedRuntime), false),
    startSynapse,
    keepSynapse: values['keep-synapse'] === true,
    ...(values.trace === undefined ? {} : { tracePath: values.trace }),
  };
};
