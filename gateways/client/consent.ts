/**
 * `GET /_matrix/consent?v=<version>`: the privacy policy a server asks users to accept (the URL
 * the `m.login.terms` stage names, as Synapse's consent resource serves it to anyone). The page is
 * the operator's HTML, served as written; an unknown version is 404, as Synapse answers it.
 */
import { Router } from '@koa/router';
import { MatrixError } from '../../domain/index.ts';
import type { RequestState } from '../http/index.ts';

export interface ConsentOptions {
  /** The version served when the query names none (the current one). */
  readonly currentVersion: string;
  /** The policy's HTML for a version, or undefined when there is no such version. */
  readonly policy: (version: string) => Promise<string | undefined>;
}

/** What a version may look like: it names a file, so nothing that could climb out of its directory. */
const VERSION = /^[A-Za-z0-9._-]{1,64}$/;

export const consentRouter = (options: ConsentOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  router.get('/_matrix/consent', async (ctx) => {
    const asked = ctx.query.v;
    const version = typeof asked === 'string' ? asked : options.currentVersion;
    const html = VERSION.test(version) && !version.startsWith('.') ? await options.policy(version) : undefined;
    if (html === undefined) throw new MatrixError('M_NOT_FOUND', 404, 'Unknown policy version');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = html;
  });
  return router;
};
