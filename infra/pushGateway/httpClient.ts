/**
 * The push gateway HTTP client (push-gateway-api § POST /_matrix/push/v1/notify): each attempt
 * has a timeout; a network error or a 5xx is retried with exponential backoff until a bounded
 * time has passed, then given up and logged (as Synapse's pushers back off, without queueing the
 * notification forever). A 4xx is not retried. The push sender waits for each delivery, so after
 * giving up on a gateway its notifications are dropped for a cooldown: one dead gateway must not
 * hold every room's pushes back for the whole retry time again and again.
 */
import type { NotifyRequest, PushGateway } from '../../domain/app/pushGateway/index.ts';
import { rejectedPushkeys } from '../../domain/app/pushGateway/index.ts';

export interface PushGatewayLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface PushGatewayClientOptions {
  readonly logger: PushGatewayLogger;
  /** One attempt's limit. */
  readonly attemptTimeoutMs?: number;
  /** No new attempt starts after this long since the first. */
  readonly giveUpAfterMs?: number;
  /** The first backoff; each next one doubles. */
  readonly initialBackoffMs?: number;
  /** After giving up on a gateway url, how long its notifications are dropped without trying. */
  readonly cooldownMs?: number;
  readonly fetch?: typeof fetch;
}

export interface PushGatewayClient extends PushGateway {
  /** Aborts requests in flight and pending retries (shutdown). */
  close(): void;
}

const DEFAULTS = { attemptTimeoutMs: 10_000, giveUpAfterMs: 30_000, initialBackoffMs: 1_000, cooldownMs: 300_000 };

class Retryable extends Error {}

export const createPushGatewayClient = (options: PushGatewayClientOptions): PushGatewayClient => {
  const attemptTimeoutMs = options.attemptTimeoutMs ?? DEFAULTS.attemptTimeoutMs;
  const giveUpAfterMs = options.giveUpAfterMs ?? DEFAULTS.giveUpAfterMs;
  const initialBackoffMs = options.initialBackoffMs ?? DEFAULTS.initialBackoffMs;
  const cooldownMs = options.cooldownMs ?? DEFAULTS.cooldownMs;
  const doFetch = options.fetch ?? fetch;
  /** Gateway urls given up on, and until when their notifications are dropped. */
  const cooling = new Map<string, number>();
  const closing = new AbortController();

  const attempt = async (request: NotifyRequest): Promise<string[]> => {
    let response: Response;
    try {
      response = await doFetch(request.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request.body),
        signal: AbortSignal.any([closing.signal, AbortSignal.timeout(attemptTimeoutMs)]),
      });
    } catch (error) {
      throw new Retryable(error instanceof Error ? error.message : String(error));
    }
    const text = await response.text().catch(() => '');
    if (response.status >= 500) throw new Retryable(`push gateway answered ${response.status}`);
    if (!response.ok) throw new Error(`push gateway answered ${response.status}: ${text.slice(0, 200)}`);
    try {
      return rejectedPushkeys(JSON.parse(text));
    } catch {
      return [];
    }
  };

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      closing.signal.removeEventListener('abort', done);
      resolve();
    }
    closing.signal.addEventListener('abort', done);
  });

  return {
    notify: async (request) => {
      const started = Date.now();
      const until = cooling.get(request.url);
      if (until !== undefined && until > started) return [];
      cooling.delete(request.url);
      let backoff = initialBackoffMs;
      for (let tries = 1; ; tries++) {
        try {
          return await attempt(request);
        } catch (error) {
          const url = request.url;
          if (!(error instanceof Retryable)) {
            options.logger.warn({ url, err: error }, 'push gateway refused the notification; not retried');
            return [];
          }
          if (closing.signal.aborted || Date.now() - started + backoff > giveUpAfterMs) {
            options.logger.warn({ url, tries, err: error, cooldown_ms: cooldownMs }, 'push gateway unreachable; notification given up');
            if (!closing.signal.aborted) cooling.set(url, Date.now() + cooldownMs);
            return [];
          }
          await sleep(backoff);
          backoff *= 2;
          if (closing.signal.aborted) {
            options.logger.warn({ url, tries }, 'push gateway client closed; notification given up');
            return [];
          }
        }
      }
    },
    close: () => closing.abort(),
  };
};
