/** Client-server paths under v3, with the r0 alias older clients still call. */
export const CLIENT_PREFIXES = ['/_matrix/client/v3', '/_matrix/client/r0'] as const;

export const clientPaths = (path: string): string[] => CLIENT_PREFIXES.map((prefix) => `${prefix}${path}`);

/** Request bodies of these endpoints are small JSON objects. */
export const MAX_BODY_BYTES = 64 * 1024;
/** A profile may hold up to 64 KiB, so one field's body may be a little larger than that. */
export const MAX_PROFILE_BODY_BYTES = 96 * 1024;
