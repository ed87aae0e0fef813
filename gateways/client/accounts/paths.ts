/** Client-server paths under v3, with the r0 alias older clients still call. */
export const CLIENT_PREFIXES = ['/_matrix/client/v3', '/_matrix/client/r0'] as const;

export const clientPaths = (path: string): string[] => CLIENT_PREFIXES.map((prefix) => `${prefix}${path}`);

/**
 * v3 and r0 plus `/_matrix/client/unstable`, where Synapse serves every client servlet too: for
 * endpoints clients called there before they were stable and still do (matrix-js-sdk's cross-signing
 * uploads, MSC1756, and key backup, MSC1219).
 */
export const clientPathsWithUnstable = (path: string): string[] => [...clientPaths(path), `/_matrix/client/unstable${path}`];

/** Request bodies of these endpoints are small JSON objects. */
export const MAX_BODY_BYTES = 64 * 1024;
/** A profile may hold up to 64 KiB, so one field's body may be a little larger than that. */
export const MAX_PROFILE_BODY_BYTES = 96 * 1024;
