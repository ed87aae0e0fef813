/**
 * Media metadata in PostgreSQL's dialect (PGlite runs it too): one row per (server name, media id),
 * the blob it points at by SHA-256. The DDL is idempotent and serialised by an advisory lock, so
 * several processes may start at once.
 */
import type { MediaContent, MediaListQuery, MediaRecord, MediaRepository, SqlDatabase } from '../../domain/ports/index.ts';
import { applySchema } from '../postgres/index.ts';

export const MEDIA_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS media (
    server_name       TEXT NOT NULL,
    media_id          TEXT NOT NULL,
    uploader          TEXT,
    created_ts        BIGINT NOT NULL,
    last_access_ts    BIGINT,
    quarantined_by    TEXT,
    authenticated     BOOLEAN NOT NULL,
    content_type      TEXT,
    size              BIGINT,
    upload_name       TEXT,
    sha256            TEXT,
    unused_expires_at BIGINT,
    PRIMARY KEY (server_name, media_id)
  )`,
  'CREATE INDEX IF NOT EXISTS media_by_uploader ON media (uploader, created_ts) WHERE uploader IS NOT NULL',
  'CREATE INDEX IF NOT EXISTS media_by_sha256 ON media (sha256) WHERE sha256 IS NOT NULL',
  'CREATE INDEX IF NOT EXISTS media_pending ON media (unused_expires_at) WHERE sha256 IS NULL',
];

export const ensureMediaSchema = async (db: SqlDatabase): Promise<void> => {
  await applySchema(db, 'strata.media.schema', MEDIA_SCHEMA);
};

interface MediaRow {
  server_name: string;
  media_id: string;
  uploader: string | null;
  created_ts: string | number;
  last_access_ts: string | number | null;
  quarantined_by: string | null;
  authenticated: boolean;
  content_type: string | null;
  size: string | number | null;
  upload_name: string | null;
  sha256: string | null;
  unused_expires_at: string | number | null;
}

const recordOf = (row: MediaRow): MediaRecord => ({
  serverName: row.server_name,
  mediaId: row.media_id,
  ...(row.uploader === null ? {} : { uploader: row.uploader }),
  createdTs: Number(row.created_ts),
  ...(row.last_access_ts === null ? {} : { lastAccessTs: Number(row.last_access_ts) }),
  ...(row.quarantined_by === null ? {} : { quarantinedBy: row.quarantined_by }),
  authenticated: row.authenticated,
  ...(row.sha256 === null ? {} : {
    content: {
      contentType: row.content_type ?? 'application/octet-stream',
      size: Number(row.size ?? 0),
      ...(row.upload_name === null ? {} : { uploadName: row.upload_name }),
      sha256: row.sha256,
    },
  }),
  ...(row.unused_expires_at === null ? {} : { unusedExpiresAt: Number(row.unused_expires_at) }),
});

/** Synapse's `order_by` names → columns (a fixed list: never interpolate what the client sent). */
const ORDER_COLUMNS: Readonly<Record<MediaListQuery['orderBy'], string>> = {
  media_id: 'media_id', upload_name: 'upload_name', created_ts: 'created_ts', last_access_ts: 'last_access_ts',
  media_length: 'size', media_type: 'content_type', quarantined_by: 'quarantined_by',
};

export const createSqlMediaRepository = async (db: SqlDatabase): Promise<MediaRepository> => {
  await ensureMediaSchema(db);
  return {
    async insert(record) {
      const content: Partial<MediaContent> = record.content ?? {};
      const result = await db.query(
        `INSERT INTO media (server_name, media_id, uploader, created_ts, last_access_ts, quarantined_by, authenticated,
           content_type, size, upload_name, sha256, unused_expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
        [record.serverName, record.mediaId, record.uploader ?? null, record.createdTs, record.lastAccessTs ?? null,
          record.quarantinedBy ?? null, record.authenticated, content.contentType ?? null, content.size ?? null,
          content.uploadName ?? null, content.sha256 ?? null, record.unusedExpiresAt ?? null],
      );
      return result.rowCount === 1;
    },
    async get(serverName, mediaId) {
      const { rows } = await db.query<MediaRow>('SELECT * FROM media WHERE server_name = $1 AND media_id = $2', [serverName, mediaId]);
      return rows[0] === undefined ? undefined : recordOf(rows[0]);
    },
    async complete(serverName, mediaId, content, now) {
      const result = await db.query(
        `UPDATE media SET content_type = $3, size = $4, upload_name = $5, sha256 = $6, unused_expires_at = NULL
         WHERE server_name = $1 AND media_id = $2 AND sha256 IS NULL AND unused_expires_at > $7`,
        [serverName, mediaId, content.contentType, content.size, content.uploadName ?? null, content.sha256, now],
      );
      return result.rowCount === 1;
    },
    async pendingUploads(uploader, now) {
      const { rows } = await db.query<{ n: string | number; first: string | number | null }>(
        'SELECT count(*) AS n, min(unused_expires_at) AS first FROM media WHERE uploader = $1 AND sha256 IS NULL AND unused_expires_at > $2',
        [uploader, now]);
      const first = rows[0]?.first ?? null;
      return { count: Number(rows[0]?.n ?? 0), ...(first === null ? {} : { firstExpiresAt: Number(first) }) };
    },
    async recordAccess(serverName, mediaId, at) {
      await db.query('UPDATE media SET last_access_ts = $3 WHERE server_name = $1 AND media_id = $2', [serverName, mediaId, at]);
    },
    async setQuarantine(serverName, mediaId, by) {
      const result = await db.query('UPDATE media SET quarantined_by = $3 WHERE server_name = $1 AND media_id = $2',
        [serverName, mediaId, by ?? null]);
      return result.rowCount === 1;
    },
    async delete(serverName, mediaId) {
      const { rows } = await db.query<MediaRow>('DELETE FROM media WHERE server_name = $1 AND media_id = $2 RETURNING *', [serverName, mediaId]);
      return rows[0] === undefined ? undefined : recordOf(rows[0]);
    },
    async referencesBlob(sha256) {
      const { rows } = await db.query('SELECT 1 FROM media WHERE sha256 = $1 LIMIT 1', [sha256]);
      return rows.length > 0;
    },
    async deleteLapsedPending(now) {
      const result = await db.query('DELETE FROM media WHERE sha256 IS NULL AND unused_expires_at <= $1', [now]);
      return result.rowCount;
    },
    async deleteRemoteUnusedSince(localServerName, before) {
      const { rows } = await db.query<MediaRow>(
        'DELETE FROM media WHERE server_name <> $1 AND COALESCE(last_access_ts, created_ts) < $2 RETURNING *', [localServerName, before]);
      return rows.map(recordOf);
    },
    async listByUploader(uploader, query) {
      const column = ORDER_COLUMNS[query.orderBy];
      const direction = query.direction === 'b' ? 'DESC' : 'ASC';
      const { rows } = await db.query<MediaRow>(
        `SELECT * FROM media WHERE uploader = $1 ORDER BY ${column} ${direction} NULLS LAST, media_id ${direction} OFFSET $2 LIMIT $3`,
        [uploader, query.from, query.limit],
      );
      const { rows: counted } = await db.query<{ n: string | number }>('SELECT count(*) AS n FROM media WHERE uploader = $1', [uploader]);
      return { media: rows.map(recordOf), total: Number(counted[0]?.n ?? 0) };
    },
  };
};
