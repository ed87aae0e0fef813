/**
 * The analytics dashboard's files at `/_strata/analytics/`: the page and the bundle `npm run build`
 * wrote to dist/dashboard (build.ts). Only the files found there at start-up are served, by exact
 * name (nothing from a request reaches the file system: no traversal), each with its content type.
 * The page is revalidated on every load (ETag); the hashed bundle names never change content, so
 * they are cached for a year. A strict Content-Security-Policy allows only this origin's script
 * and style (no inline script) and this origin's API and WebSocket.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from '@koa/router';
import { MatrixError } from '../../../domain/index.ts';
import type { RequestState, StrataRouter } from '../../http/index.ts';

export const DASHBOARD_PREFIX = '/_strata/analytics';
/** Where build.ts writes the dashboard (git-ignored). */
export const DASHBOARD_BUILD_DIR = fileURLToPath(new URL('../../../dist/dashboard/', import.meta.url));
export const DASHBOARD_PAGE = 'index.html';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

interface DashboardFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  readonly immutable: boolean;
}

/** The built files by name; empty when the dashboard was not built. */
export const loadDashboardFiles = (dir: string = DASHBOARD_BUILD_DIR): ReadonlyMap<string, DashboardFile> => {
  const files = new Map<string, DashboardFile>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return files;
  }
  for (const name of names) {
    const type = CONTENT_TYPES[path.extname(name)];
    if (type === undefined || name.startsWith('.')) continue;
    let body: Buffer;
    try {
      if (!statSync(path.join(dir, name)).isFile()) continue;
      body = readFileSync(path.join(dir, name));
    } catch {
      // Removed by a build running meanwhile (build.ts): the new page names other files.
      continue;
    }
    files.set(name, {
      body, type, immutable: name !== DASHBOARD_PAGE,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    });
  }
  return files;
};

/** Self only: the page's script and style, the API and the counters WebSocket on this origin. */
const contentSecurityPolicy = (host: string): string => [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  // 'self' covers ws(s): on the same host in current browsers; named for older ones.
  `connect-src 'self'${host === '' ? '' : ` ws://${host} wss://${host}`}`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Host header values that may appear in the policy (anything else leaves only 'self'). */
const PLAIN_HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

export interface DashboardRouterOptions {
  /** The built files (loadDashboardFiles). */
  readonly files: ReadonlyMap<string, DashboardFile>;
}

export const createDashboardRouter = (options: DashboardRouterOptions): StrataRouter => {
  // strict: `/_strata/analytics` and `/_strata/analytics/` are different routes.
  const router = new Router<RequestState>({ strict: true });
  const serve = (name: string): Parameters<typeof router.get>[1] => (ctx) => {
    const file = options.files.get(name);
    if (file === undefined) {
      throw new MatrixError('M_NOT_FOUND', 404, name === DASHBOARD_PAGE
        ? 'The analytics dashboard is not built: run npm run build'
        : 'No such dashboard file');
    }
    const host = ctx.get('host');
    ctx.set('Content-Security-Policy', contentSecurityPolicy(PLAIN_HOST.test(host) ? host : ''));
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cache-Control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    ctx.set('ETag', file.etag);
    ctx.type = file.type;
    if (ctx.get('if-none-match') === file.etag) {
      ctx.status = 304;
      return;
    }
    ctx.body = file.body;
  };
  // Relative asset URLs need the trailing slash.
  router.get(DASHBOARD_PREFIX, (ctx) => {
    ctx.status = 301;
    ctx.redirect(`${DASHBOARD_PREFIX}/`);
  });
  router.get(`${DASHBOARD_PREFIX}/`, serve(DASHBOARD_PAGE));
  // One route per built asset, by exact name: any other path is not this router's.
  for (const name of options.files.keys()) {
    if (name !== DASHBOARD_PAGE) router.get(`${DASHBOARD_PREFIX}/${name}`, serve(name));
  }
  return router;
};
