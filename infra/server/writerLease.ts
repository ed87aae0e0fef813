/**
 * One writer per log namespace, as a lease kept in the log itself (a one-partition topic in the
 * namespace). Room commands are not routed to a partition's owner yet, so a second process writing
 * rooms would fork their state; the lease refuses it at start-up.
 *
 * Compare-and-set on a log: every lease record carries the offset it expects to land at (the end
 * offset its writer read). A record that lands elsewhere lost a race and is ignored by everyone,
 * so the current lease is the newest record whose offset is the one it expected. A record is
 * written only by the holder (renewal, release) or by a starter that found the lease free:
 * released, expired (plus a margin for clock skew), or held by a process that is provably gone
 * (processIdentity.ts: after `kill -9` on the same machine the restart takes over at once). A
 * starter facing a holder that renews is refused at once; one facing a holder that has stopped
 * renewing (crashed on another machine) waits for the lease to expire.
 *
 * The holder renews every few seconds and stops writing (`held()` turns false, /health says the
 * log is down) once a term has passed since the start of its last successful renewal. That is no
 * later than the expiry a successor waits for, so two processes never both believe they hold it
 * (with clocks that agree within the skew margin). A lease that another process took is lost for
 * good (even if its taker released it since: the rooms may have changed under this process); one
 * that lapsed because the log did not answer comes back when a renewal succeeds, which the
 * compare-and-set allows only if nobody took it meanwhile.
 */
import { randomBytes } from 'node:crypto';
import type { LogEntry, LogValue, RoomLog } from '../../domain/index.ts';
import { currentProcess, describeHolder, provablyGone, type HolderProcess } from './processIdentity.ts';
import { InUseError } from './startupError.ts';

export const WRITER_LEASE_TOPIC = 'strata.writer';
const LEASE_KEY = 'writer';
const DEFAULT_TERM_MS = 15_000;
const DEFAULT_RENEW_EVERY_MS = 3_000;
const DEFAULT_SKEW_MS = 2_000;
/** Lease records read back per step when looking for the current one (races are rare). */
const WINDOW = 16;

interface LeaseRecord {
  readonly type: 'writer.lease';
  readonly v: 1;
  readonly holding: string;
  readonly holder: HolderProcess;
  readonly expected_offset: number;
  readonly renewed_at: number;
  readonly expires_at: number;
  readonly released: boolean;
}

export interface WriterLeaseLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface WriterLeaseOptions {
  readonly log: RoomLog;
  /** The namespace, for messages (brokers and namespace, no secrets). */
  readonly where: string;
  readonly logger: WriterLeaseLogger;
  readonly termMs?: number;
  readonly renewEveryMs?: number;
  readonly skewMs?: number;
  readonly now?: () => number;
  /** This process, as recorded in the lease (tests pass another one). */
  readonly self?: HolderProcess;
}

export interface WriterLease {
  /** Whether this process may write now. */
  held(): boolean;
  /** Why it may not (undefined while held). */
  problem(): string | undefined;
  /** Stops renewing and, if still held, releases the lease so a successor starts at once. */
  release(): Promise<void>;
}

interface Current {
  /** The newest record that landed where it expected, if any is readable. */
  readonly lease: LeaseRecord | undefined;
  /** Where the next record lands if nothing is appended meanwhile. */
  readonly end: number;
}

const isLeaseRecord = (entry: LogEntry): boolean => {
  const value = entry.value as Partial<LeaseRecord> | null;
  return value !== null && typeof value === 'object' && value.type === 'writer.lease' && value.expected_offset === entry.offset;
};

const readCurrent = async (log: RoomLog): Promise<Current> => {
  const end = await log.endOffset(WRITER_LEASE_TOPIC, 0);
  for (let upTo = end; upTo > 0; upTo -= WINDOW) {
    const from = Math.max(0, upTo - WINDOW);
    let entries: LogEntry[];
    try {
      entries = await log.read(WRITER_LEASE_TOPIC, 0, from, upTo - from);
    } catch {
      // Older records were removed by retention: nothing readable holds the lease.
      break;
    }
    const found = entries.filter(isLeaseRecord).pop();
    if (found !== undefined) return { lease: found.value as unknown as LeaseRecord, end };
  }
  return { lease: undefined, end };
};

const ago = (ms: number): string => `${Math.max(0, Math.round(ms / 100) / 10)} s`;

export const acquireWriterLease = async (options: WriterLeaseOptions): Promise<WriterLease> => {
  const { log, where, logger } = options;
  const termMs = options.termMs ?? DEFAULT_TERM_MS;
  const renewEveryMs = options.renewEveryMs ?? DEFAULT_RENEW_EVERY_MS;
  const skewMs = options.skewMs ?? DEFAULT_SKEW_MS;
  const now = options.now ?? Date.now;
  const self = options.self ?? currentProcess();
  const holding = randomBytes(8).toString('hex');

  /** Appends our record expecting offset `end`; true if it landed there (the compare-and-set held). */
  const write = async (end: number, released: boolean): Promise<boolean> => {
    const at = now();
    const record: LeaseRecord = {
      type: 'writer.lease', v: 1, holding, holder: self, expected_offset: end, renewed_at: at,
      expires_at: released ? at : at + termMs, released,
    };
    const [position] = await log.append(WRITER_LEASE_TOPIC, [{ key: LEASE_KEY, value: record as unknown as LogValue, headers: { type: record.type } }]);
    return position?.offset === end;
  };

  await log.ensureTopic(WRITER_LEASE_TOPIC, 1);
  /** The lease is ours until then unless renewed (counted from before the read that justified it). */
  let acquiredUntil: number | undefined;
  for (let attempt = 0; attempt < 5 && acquiredUntil === undefined; attempt++) {
    const started = now();
    const { lease, end } = await readCurrent(log);
    if (lease !== undefined && !lease.released && lease.holding !== holding) {
      const expired = started >= lease.expires_at + skewMs;
      const gone = provablyGone(lease.holder, self);
      // A holder that stopped renewing (crashed on another machine) is waited out; one that renews is refused.
      const silentFor = started - lease.renewed_at;
      if (!expired && !gone && silentFor > 2 * renewEveryMs + skewMs) {
        const wait = lease.expires_at + skewMs - started;
        logger.warn({ holder: lease.holder, wait_ms: wait },
          `waiting ${ago(wait)} for the writer lease of ${describeHolder(lease.holder)} to expire: not renewed for ${ago(silentFor)}`);
        await new Promise((resolve) => setTimeout(resolve, wait));
        continue;
      }
      if (!expired && !gone) {
        throw new InUseError(
          `another Strata process (${describeHolder(lease.holder)}) holds the writer lease of ${where}, renewed ${ago(started - lease.renewed_at)} ago; `
            + 'only one process may write a log namespace (see docs/ARCHITECTURE.md, "One writer per namespace")',
        );
      }
      logger.info({ previous: lease.holder, expired, gone }, `taking over the writer lease of ${describeHolder(lease.holder)}, which ${gone ? 'is gone' : 'expired'}`);
    }
    if (await write(end, false)) acquiredUntil = started + termMs;
  }
  if (acquiredUntil === undefined) throw new InUseError(`cannot take the writer lease of ${where}: other processes keep writing it`);
  let until = acquiredUntil;

  /** Why the lease is lost for good, once it is. */
  let lost: string | undefined;
  let lapsed = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let renewing: Promise<void> = Promise.resolve();

  const held = (): boolean => lost === undefined && !stopped && now() < until;

  const renew = async (): Promise<void> => {
    const started = now();
    try {
      const { lease, end } = await readCurrent(log);
      // Anyone else's record since ours (even a release) means another process may have written:
      // this process's view of the rooms is stale, so the lease is not taken back.
      if (lease?.holding !== holding) {
        lost = lease === undefined
          ? 'the writer lease records are gone'
          : `the writer lease was taken over by ${describeHolder(lease.holder)}`;
        logger.error({ holder: lease?.holder }, `${lost} (${where}): this process stops writing`);
        return;
      }
      if (stopped) return;
      if (await write(end, false)) {
        until = started + termMs;
        if (lapsed) logger.info({}, `writer lease of ${where} renewed again: writing resumes`);
        lapsed = false;
      }
    } catch (error) {
      logger.warn({ err: error }, `renewing the writer lease of ${where} failed`);
    }
    if (!held() && !lapsed && lost === undefined && !stopped) {
      lapsed = true;
      logger.error({ term_ms: termMs }, `writer lease of ${where} lapsed (no renewal for ${ago(termMs)}): this process stops writing`);
    }
  };

  const schedule = (): void => {
    if (stopped || lost !== undefined) return;
    timer = setTimeout(() => {
      renewing = renew().finally(schedule);
    }, renewEveryMs);
    // The lease must not keep a stopping process alive.
    timer.unref();
  };
  schedule();

  return {
    held,
    problem: () => {
      if (lost !== undefined) return lost;
      if (stopped) return 'the writer lease was released';
      if (!held()) return `the writer lease lapsed: no renewal for ${ago(termMs)}`;
      return undefined;
    },
    release: async () => {
      const wasHeld = held();
      stopped = true;
      clearTimeout(timer);
      await renewing;
      if (!wasHeld) return;
      try {
        const { lease, end } = await readCurrent(log);
        if (lease?.holding === holding) await write(end, true);
      } catch (error) {
        logger.warn({ err: error }, `releasing the writer lease of ${where} failed; a successor waits for it to expire`);
      }
    },
  };
};

/** `log` whose appends are refused while `lease` is not held (the lease's own records bypass it). */
export const withWriterLease = <L extends RoomLog>(log: L, lease: WriterLease): L => ({
  ...log,
  append: async (topic, records, options) => {
    // Judged when the records go out, not when they were handed over.
    await options?.after;
    const problem = lease.problem();
    if (problem !== undefined) throw new Error(`this process may not write the log: ${problem}`);
    return log.append(topic, records);
  },
  close: async () => {
    await lease.release();
    await log.close();
  },
});
