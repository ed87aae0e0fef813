/**
 * matrix-js-sdk in tests: clients signed in with a harness session, a logger that keeps the SDK's
 * chatter out of the test output (but hands its warnings to a failing test), and a wait for the
 * next emitted event that satisfies a condition — tests wait on what the SDK reports, never sleep.
 */
import { ClientEvent, createClient, SyncState, type MatrixClient as SdkClient } from 'matrix-js-sdk';
import { logger as sdkRootLogger, type Logger } from 'matrix-js-sdk/lib/logger.js';
import type { Session } from './client.ts';

/**
 * Parts of the SDK (e.g. its MatrixRTC session manager, on every invite's state) log through its
 * root logger (a loglevel logger) whatever the client's logger: silence it; the client's own
 * warnings and errors still reach `recordingSdkLogger`.
 */
export const quietSdkRootLogger = (): void => {
  (sdkRootLogger as unknown as { setLevel(level: 'silent'): void }).setLevel('silent');
};

/** A logger that records warnings and errors and drops the rest. */
export const recordingSdkLogger = (): Logger & { readonly problems: string[] } => {
  const problems: string[] = [];
  const text = (level: string, msg: unknown[]): string => `${level}: ${msg.map((part) => (part instanceof Error ? part.message : String(part))).join(' ')}`;
  const logger = {
    problems,
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (...msg: unknown[]) => { problems.push(text('warn', msg)); },
    error: (...msg: unknown[]) => { problems.push(text('error', msg)); },
    getChild: () => logger,
  };
  return logger;
};

/** Minimal typed-emitter view: what `waitForEmit` needs of the SDK's emitters. */
interface Emitter {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * Resolves with the arguments of the first `event` emitted by `emitter` for which `matches` holds;
 * rejects after `timeoutMs`. Call it before the action that causes the event, then await it.
 */
export const waitForEmit = <Args extends unknown[]>(
  emitter: Emitter, event: string, matches: (...args: Args) => boolean, what: string, timeoutMs = 20_000,
): Promise<Args> =>
  new Promise((resolve, reject) => {
    const listener = (...args: Args): void => {
      if (!matches(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener as unknown as (...args: never[]) => void);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener as unknown as (...args: never[]) => void);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    emitter.on(event, listener as unknown as (...args: never[]) => void);
  });

/** A matrix-js-sdk client for `session` on `baseUrl`, not yet syncing. */
export const sdkClientFor = (baseUrl: string, session: Session, logger: Logger): SdkClient =>
  createClient({ baseUrl, userId: session.userId, accessToken: session.accessToken, deviceId: session.deviceId, logger });

/** Starts the SDK's sync loop and resolves once its first sync is processed (PREPARED). */
export const startSyncing = async (client: SdkClient, timeoutMs = 20_000): Promise<void> => {
  const settled = waitForEmit<[SyncState, SyncState | null, unknown]>(client, ClientEvent.Sync,
    (state) => state === SyncState.Prepared || state === SyncState.Error, `${client.getUserId()}'s first sync`, timeoutMs);
  await client.startClient({ initialSyncLimit: 20 });
  const [state, , data] = await settled;
  if (state === SyncState.Error) throw new Error(`${client.getUserId()}: the SDK's first sync failed: ${JSON.stringify(data)}`);
};
