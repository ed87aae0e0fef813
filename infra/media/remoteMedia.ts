/**
 * Other servers' media over federation: `GET /_matrix/federation/v1/media/download/{mediaId}`
 * (v1.11), its multipart answer read within the size limit. A redirect part is not followed: it
 * points at a plain HTTPS URL outside the federation address policy.
 */
import { MatrixError, type RemoteMedia } from '../../domain/index.ts';
import { FederationClientError, FederationHttpError, type FederationClient } from '../federation/client/index.ts';
import { parseMultipartMedia } from './multipart.ts';

/** Room for the multipart framing around the media part. */
const FRAMING_BYTES = 64 * 1024;

const failed = (serverName: string, reason: string) => new MatrixError('M_UNKNOWN', 502, `Failed to fetch remote media from ${serverName}: ${reason}`);

export const createFederationRemoteMedia = (client: Pick<FederationClient, 'getBytes'>): RemoteMedia => ({
  async download(serverName, mediaId, options) {
    let answer;
    try {
      answer = await client.getBytes(serverName, `/_matrix/federation/v1/media/download/${encodeURIComponent(mediaId)}?timeout_ms=${options.timeoutMs}`, {
        maxResponseBytes: options.maxBytes + FRAMING_BYTES, timeoutMs: options.timeoutMs + 5_000,
      });
    } catch (error) {
      if (error instanceof FederationHttpError && error.status === 404) throw new MatrixError('M_NOT_FOUND', 404, 'Media not found');
      if (error instanceof FederationClientError && error.kind === 'tooLarge') throw new MatrixError('M_TOO_LARGE', 502, 'Remote media is larger than this server accepts');
      if (error instanceof FederationHttpError || error instanceof FederationClientError) throw failed(serverName, error.message);
      throw error;
    }
    const part = parseMultipartMedia(answer.contentType, answer.body);
    if (typeof part === 'string') throw failed(serverName, part);
    if (part.kind === 'redirect') throw failed(serverName, 'redirects to media are not followed');
    if (part.bytes.length > options.maxBytes) throw new MatrixError('M_TOO_LARGE', 502, 'Remote media is larger than this server accepts');
    const bytes = part.bytes;
    return {
      contentType: part.contentType,
      ...(part.uploadName === undefined ? {} : { uploadName: part.uploadName }),
      body: (async function* () { yield bytes; })(),
    };
  },
});
