/**
 * Synapse's media admin API (docs/admin_api/media_admin_api.md): quarantine, delete, a user's media
 * and the purge of cached remote media. Only server administrators may call it.
 */
import { MatrixError } from '../../errors.ts';
import type { MediaListQuery, MediaRecord } from '../../ports/index.ts';
import type { MediaContext } from './context.ts';
import { isMediaId, notFound } from './media.ts';

export interface MediaAdmin {
  /** Sets or lifts the quarantine of one media item (local or cached remote). */
  quarantine(admin: string, serverName: string, mediaId: string, quarantined: boolean): Promise<void>;
  /** Deletes a local media item and, once nothing else points at it, its blob. */
  delete(admin: string, serverName: string, mediaId: string): Promise<void>;
  listUserMedia(admin: string, userId: string, query: MediaListQuery): Promise<{ readonly media: readonly MediaRecord[]; readonly total: number }>;
  /** Deletes the page of a user's media the query selects (Synapse's DELETE …/users/{userId}/media); answers the deleted ids. */
  deleteUserMedia(admin: string, userId: string, query: MediaListQuery): Promise<readonly string[]>;
  /** Deletes cached remote media not accessed since `before`; answers how many. */
  purgeRemoteCache(admin: string, before: number): Promise<number>;
}

export const createMediaAdmin = (ctx: MediaContext): MediaAdmin => {
  const requireAdmin = async (userId: string): Promise<void> => {
    if (!(await ctx.isAdmin(userId))) throw new MatrixError('M_FORBIDDEN', 403, 'You are not a server admin');
  };
  const dropBlobOf = async (record: MediaRecord): Promise<void> => {
    if (record.content !== undefined && !(await ctx.repository.referencesBlob(record.content.sha256))) {
      await ctx.store.delete(record.content.sha256);
    }
  };
  return {
    async quarantine(admin, serverName, mediaId, quarantined) {
      await requireAdmin(admin);
      if (!isMediaId(mediaId)) throw notFound();
      // Synapse answers {} whether or not the media exists.
      await ctx.repository.setQuarantine(serverName, mediaId, quarantined ? admin : undefined);
    },
    async delete(admin, serverName, mediaId) {
      await requireAdmin(admin);
      if (serverName !== ctx.serverName) throw new MatrixError('M_INVALID_PARAM', 400, 'Can only delete local media');
      if (!isMediaId(mediaId)) throw notFound();
      const record = await ctx.repository.delete(serverName, mediaId);
      if (record === undefined) throw notFound();
      await ctx.derivatives?.deleted(serverName, mediaId);
      await dropBlobOf(record);
    },
    async listUserMedia(admin, userId, query) {
      await requireAdmin(admin);
      return ctx.repository.listByUploader(userId, query);
    },
    async deleteUserMedia(admin, userId, query) {
      await requireAdmin(admin);
      const page = await ctx.repository.listByUploader(userId, query);
      const deleted: string[] = [];
      for (const listed of page.media) {
        const record = await ctx.repository.delete(listed.serverName, listed.mediaId);
        if (record === undefined) continue;
        await ctx.derivatives?.deleted(record.serverName, record.mediaId);
        await dropBlobOf(record);
        deleted.push(record.mediaId);
      }
      return deleted;
    },
    async purgeRemoteCache(admin, before) {
      await requireAdmin(admin);
      const removed = await ctx.repository.deleteRemoteUnusedSince(ctx.serverName, before);
      for (const record of removed) {
        await ctx.derivatives?.deleted(record.serverName, record.mediaId);
        await dropBlobOf(record);
      }
      return removed.length;
    },
  };
};
