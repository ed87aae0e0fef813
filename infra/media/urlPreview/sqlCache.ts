/**
 * URL previews kept in PostgreSQL's dialect (PGlite runs it too), one row per URL and fetch time,
 * as Synapse's `local_media_repository_url_cache`. The DDL is idempotent and serialised by an
 * advisory lock, so several processes may start at once.
 */
import type { SqlDatabase, StoredUrlPreview, UrlPreviewCache } from '../../../domain/index.ts';
import { applySchema } from '../../postgres/index.ts';

export const URL_PREVIEWS_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS url_previews (
    url         TEXT NOT NULL,
    download_ts BIGINT NOT NULL,
    expires_ts  BIGINT NOT NULL,
    og          TEXT NOT NULL,
    PRIMARY KEY (url, download_ts)
  )`,
  'CREATE INDEX IF NOT EXISTS url_previews_by_expiry ON url_previews (expires_ts)',
];

export const ensureUrlPreviewsSchema = async (db: SqlDatabase): Promise<void> => {
  await applySchema(db, 'strata.url_previews.schema', URL_PREVIEWS_SCHEMA);
};

interface PreviewRow {
  download_ts: string | number;
  expires_ts: string | number;
  og: string;
}

const previewOf = (row: PreviewRow): StoredUrlPreview => ({
  og: JSON.parse(row.og) as Record<string, string | number>,
  downloadTs: Number(row.download_ts),
  expiresTs: Number(row.expires_ts),
});

export const createSqlUrlPreviewCache = async (db: SqlDatabase): Promise<UrlPreviewCache> => {
  await ensureUrlPreviewsSchema(db);
  return {
    async previewAt(url, ts) {
      const before = await db.query<PreviewRow>(
        'SELECT download_ts, expires_ts, og FROM url_previews WHERE url = $1 AND download_ts <= $2 ORDER BY download_ts DESC LIMIT 1', [url, ts]);
      if (before.rows[0] !== undefined) return previewOf(before.rows[0]);
      const after = await db.query<PreviewRow>(
        'SELECT download_ts, expires_ts, og FROM url_previews WHERE url = $1 AND download_ts > $2 ORDER BY download_ts ASC LIMIT 1', [url, ts]);
      return after.rows[0] === undefined ? undefined : previewOf(after.rows[0]);
    },
    async keep(url, preview) {
      await db.query(
        `INSERT INTO url_previews (url, download_ts, expires_ts, og) VALUES ($1, $2, $3, $4)
         ON CONFLICT (url, download_ts) DO UPDATE SET expires_ts = EXCLUDED.expires_ts, og = EXCLUDED.og`,
        [url, preview.downloadTs, preview.expiresTs, JSON.stringify(preview.og)]);
    },
    async forgetExpired(now) {
      const result = await db.query('DELETE FROM url_previews WHERE expires_ts < $1', [now]);
      return result.rowCount;
    },
  };
};
