/**
 * Thumbnail metadata on the read-model database (PostgreSQL or PGlite), as Synapse's
 * local_media_repository_thumbnails: one row per thumbnail, its bytes in the media store by SHA-256;
 * and each image's probe (displayed size, animation) so that choosing a thumbnail reads no original.
 * Not projection tables: nothing rebuilds them.
 */
import type { ImageProbe, SqlDatabase, ThumbnailMethod, ThumbnailRecord, ThumbnailStore } from '../../domain/index.ts';
import { applySchema } from '../postgres/index.ts';

export const MEDIA_THUMBNAILS_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS media_thumbnails (
    server_name  TEXT NOT NULL,
    media_id     TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    method       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    animated     BOOLEAN NOT NULL,
    sha256       TEXT NOT NULL,
    length       BIGINT NOT NULL,
    created_ts   BIGINT NOT NULL,
    PRIMARY KEY (server_name, media_id, width, height, method, content_type, animated)
  )`,
  'CREATE INDEX IF NOT EXISTS media_thumbnails_sha256 ON media_thumbnails (sha256)',
  `CREATE TABLE IF NOT EXISTS media_image_probes (
    server_name TEXT NOT NULL,
    media_id    TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    animated    BOOLEAN NOT NULL,
    PRIMARY KEY (server_name, media_id)
  )`,
];

export const ensureMediaThumbnailsSchema = async (db: SqlDatabase): Promise<void> => {
  await applySchema(db, 'strata.media_thumbnails.schema', MEDIA_THUMBNAILS_SCHEMA);
};

interface ThumbnailRow {
  server_name: string;
  media_id: string;
  width: number;
  height: number;
  method: string;
  content_type: string;
  animated: boolean;
  sha256: string;
  length: string | number;
  created_ts: string | number;
}

const toRecord = (row: ThumbnailRow): ThumbnailRecord => ({
  serverName: row.server_name,
  mediaId: row.media_id,
  width: row.width,
  height: row.height,
  method: row.method as ThumbnailMethod,
  contentType: row.content_type,
  animated: row.animated,
  sha256: row.sha256,
  length: Number(row.length),
  createdTs: Number(row.created_ts),
});

export const createSqlThumbnailStore = (db: SqlDatabase): ThumbnailStore => ({
  async list(serverName, mediaId) {
    const { rows } = await db.query<ThumbnailRow>(
      `SELECT * FROM media_thumbnails WHERE server_name = $1 AND media_id = $2
       ORDER BY created_ts, width, height, method, content_type`,
      [serverName, mediaId],
    );
    return rows.map(toRecord);
  },
  async add(record) {
    await db.query(
      `INSERT INTO media_thumbnails (server_name, media_id, width, height, method, content_type, animated, sha256, length, created_ts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (server_name, media_id, width, height, method, content_type, animated)
       DO UPDATE SET sha256 = EXCLUDED.sha256, length = EXCLUDED.length`,
      [record.serverName, record.mediaId, record.width, record.height, record.method, record.contentType, record.animated,
        record.sha256, record.length, record.createdTs],
    );
  },
  async probeOf(serverName, mediaId) {
    const { rows } = await db.query<{ width: number; height: number; animated: boolean }>(
      'SELECT width, height, animated FROM media_image_probes WHERE server_name = $1 AND media_id = $2', [serverName, mediaId],
    );
    const row = rows[0];
    return row === undefined ? undefined : { width: row.width, height: row.height, animated: row.animated } satisfies ImageProbe;
  },
  async keepProbe(serverName, mediaId, probe) {
    await db.query(
      `INSERT INTO media_image_probes (server_name, media_id, width, height, animated) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (server_name, media_id) DO NOTHING`,
      [serverName, mediaId, probe.width, probe.height, probe.animated],
    );
  },
  async referencesBlob(sha256) {
    const { rows } = await db.query('SELECT 1 FROM media_thumbnails WHERE sha256 = $1 LIMIT 1', [sha256]);
    return rows.length > 0;
  },
  async deleteAll(serverName, mediaId) {
    return db.transaction(async (tx) => {
      await tx.query('DELETE FROM media_image_probes WHERE server_name = $1 AND media_id = $2', [serverName, mediaId]);
      const { rows } = await tx.query<{ sha256: string }>(
        'DELETE FROM media_thumbnails WHERE server_name = $1 AND media_id = $2 RETURNING sha256', [serverName, mediaId],
      );
      return [...new Set(rows.map((row) => row.sha256))];
    });
  },
});
