/**
 * `GET`/`POST /auth/{authType}/fallback/web?session=…` (client-server-api § Fallback): a page a
 * client that cannot show a stage opens in a browser. It serves the stages that need one here —
 * the reCAPTCHA and the terms — as Synapse's pages do: a form posting back to the same URL, then a
 * page that tells the opener `authDone` (the client retries its request with the session alone).
 */
import { MatrixError, type JsonObject } from '../../../domain/index.ts';
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import { readFormBody, type StrataContext, type StrataRouter } from '../../http/index.ts';
import { clientPaths, MAX_BODY_BYTES } from './paths.ts';

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const page = (title: string, body: string): string =>
  `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`
  + `<title>${escapeHtml(title)}</title></head><body>${body}</body></html>\n`;

const errorLine = (error: string | undefined): string => (error === undefined ? '' : `<p class="error">${escapeHtml(error)}</p>`);

/** The form of a stage: what the user sees and submits. */
const stageForm = (type: string, params: JsonObject, session: string, error: string | undefined): string => {
  const hidden = `<input type="hidden" name="session" value="${escapeHtml(session)}">`;
  if (type === 'm.login.recaptcha') {
    const siteKey = typeof params.public_key === 'string' ? params.public_key : '';
    return page('Authentication', `<script src="https://www.recaptcha.net/recaptcha/api.js" async defer></script>`
      + `<form method="post">${errorLine(error)}<p>Hello! We need to prevent computer programs and other automated things from creating accounts on this server.</p>`
      + `<p>Please verify that you're not a robot.</p><div class="g-recaptcha" data-sitekey="${escapeHtml(siteKey)}"></div>`
      + `${hidden}<input type="submit" value="Continue"></form>`);
  }
  const policy = (params.policies as Record<string, Record<string, Record<string, string>>> | undefined)?.privacy_policy?.en;
  const link = policy === undefined ? 'the policies of this server'
    : `the <a href="${escapeHtml(policy.url ?? '')}" target="_blank" rel="noopener">${escapeHtml(policy.name ?? 'privacy policy')}</a> of this server`;
  return page('Authentication', `<form method="post">${errorLine(error)}<p>Please click the button below if you agree to ${link}.</p>`
    + `${hidden}<input type="submit" value="Agree"></form>`);
};

const SUCCESS = page('Success', '<script>if (window.onAuthDone) { window.onAuthDone(); } '
  + 'else if (window.opener && window.opener.postMessage) { window.opener.postMessage("authDone", "*"); }</script>'
  + '<p>Thank you</p><p>You may now close this window and return to the application</p>');

const html = (ctx: StrataContext, text: string): void => {
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = text;
};

export const addFallbackRoutes = (router: StrataRouter, accounts: Pick<Accounts, 'uiaFallback'>): void => {
  const stageOf = (ctx: StrataContext): { type: string; params: JsonObject } => {
    const type = ctx.params.authType as string;
    const params = accounts.uiaFallback.params(type);
    // Synapse's answer for a stage it has no page for.
    if (params === undefined) throw new MatrixError('M_UNKNOWN', 404, 'Unknown auth stage type');
    return { type, params };
  };
  const sessionOf = (value: unknown): string => {
    if (typeof value !== 'string' || value === '') throw new MatrixError('M_MISSING_PARAM', 400, "Missing string query parameter 'session'");
    return value;
  };
  for (const path of clientPaths('/auth/:authType/fallback/web')) {
    router.get(path, (ctx) => {
      const { type, params } = stageOf(ctx);
      html(ctx, stageForm(type, params, sessionOf(ctx.query.session), undefined));
    });
    router.post(path, async (ctx) => {
      const { type, params } = stageOf(ctx);
      const form = await readFormBody(ctx, { maxBytes: MAX_BODY_BYTES });
      const session = sessionOf(form.get('session') ?? ctx.query.session);
      const response = form.get('g-recaptcha-response');
      const outcome = await accounts.uiaFallback.complete(session, type, response === null ? {} : { response }, ctx.ip);
      html(ctx, outcome.ok ? SUCCESS : stageForm(type, params, session, outcome.failure.message));
    });
  }
};
