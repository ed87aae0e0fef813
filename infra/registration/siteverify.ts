/**
 * The RecaptchaVerifier port over Google's siteverify API (or any server speaking it, e.g.
 * `recaptcha_siteverify_api` pointing elsewhere): a form POST of `secret`, `response` and
 * `remoteip`, answered `{"success": true|false, ...}`. As Synapse, the hostname in the answer is
 * not checked: the captcha may be solved in whatever client the user registers with.
 */
import type { Logger } from 'pino';
import type { RecaptchaVerifier } from '../../domain/ports/index.ts';

export interface SiteverifyOptions {
  readonly url: string;
  readonly secret: string;
  readonly logger: Logger;
  /** How long one verification may take; 10 s by default. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** Captcha responses are a few hundred bytes; anything far longer is not one and is not sent on. */
const MAX_RESPONSE_LENGTH = 8192;

export const createSiteverifyRecaptcha = (options: SiteverifyOptions): RecaptchaVerifier => {
  const doFetch = options.fetch ?? fetch;
  return {
    async verify(response, remoteIp) {
      if (response.length > MAX_RESPONSE_LENGTH) return false;
      const form = new URLSearchParams({ secret: options.secret, response, ...(remoteIp === undefined ? {} : { remoteip: remoteIp }) });
      try {
        const answer = await doFetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
        if (!answer.ok) {
          options.logger.warn({ status: answer.status }, 'recaptcha siteverify answered an error');
          return false;
        }
        const body: unknown = await answer.json();
        return typeof body === 'object' && body !== null && (body as { success?: unknown }).success === true;
      } catch (error) {
        options.logger.warn({ err: error }, 'recaptcha siteverify could not be reached');
        return false;
      }
    },
  };
};
