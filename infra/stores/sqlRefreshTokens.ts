/**
 * Access and refresh token rows of the SQL account store (client-server-api § Refreshing access
 * tokens): a refresh token names the one it replaced (`parent_sha256`) until it or its access
 * token is first used, so a client that lost the answer of `/refresh` can repeat it.
 */
import type { AccessTokenOwner, RefreshedTokens } from '../../domain/app/accounts/index.ts';
import type { SqlDatabase, SqlExecutor } from '../../domain/index.ts';

export interface TokenRow {
  user_id: string;
  device_id: string;
  is_guest: boolean;
  expires_ts: number | null;
  refresh_token_sha256: string | null;
  replaces: boolean | null;
  /** Present when the query joined `users`. */
  is_admin?: boolean | null;
  locked?: boolean | null;
  suspended?: boolean | null;
}

export const toOwner = (row: TokenRow): AccessTokenOwner => ({
  userId: row.user_id,
  deviceId: row.device_id,
  isGuest: row.is_guest,
  ...(row.expires_ts === null ? {} : { expiresTs: Number(row.expires_ts) }),
  ...(row.refresh_token_sha256 === null ? {} : { refreshTokenHash: row.refresh_token_sha256 }),
  ...(row.replaces === true ? { replacesRefreshToken: true } : {}),
  ...(row.is_admin === true ? { isAdmin: true } : {}),
  ...(row.locked === true ? { locked: true } : {}),
  ...(row.suspended === true ? { suspended: true } : {}),
});

export const insertAccessToken = async (db: SqlExecutor, tokenHash: string, owner: AccessTokenOwner, now: number): Promise<void> => {
  await db.query(
    `INSERT INTO access_tokens (token_sha256, user_id, device_id, is_guest, created_ts, expires_ts, refresh_token_sha256)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [tokenHash, owner.userId, owner.deviceId, owner.isGuest, now, owner.expiresTs ?? null, owner.refreshTokenHash ?? null],
  );
};

export const refreshSession = (db: SqlDatabase, used: string, next: RefreshedTokens, now: number): Promise<AccessTokenOwner | undefined> =>
  db.transaction(async (tx) => {
    const { rows } = await tx.query<{ user_id: string; device_id: string; parent_sha256: string | null }>(
      'SELECT user_id, device_id, parent_sha256 FROM refresh_tokens WHERE token_sha256 = $1 FOR UPDATE',
      [used],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    // Using it revokes what it replaced; an earlier use of it is superseded, as is its access token.
    if (row.parent_sha256 !== null) await tx.query('DELETE FROM refresh_tokens WHERE token_sha256 = $1', [row.parent_sha256]);
    await tx.query(
      `DELETE FROM access_tokens WHERE refresh_token_sha256 = $1
         OR refresh_token_sha256 IN (SELECT token_sha256 FROM refresh_tokens WHERE parent_sha256 = $1)`,
      [used],
    );
    await tx.query('DELETE FROM refresh_tokens WHERE parent_sha256 = $1', [used]);
    await tx.query('UPDATE refresh_tokens SET parent_sha256 = NULL WHERE token_sha256 = $1', [used]);
    await tx.query('INSERT INTO refresh_tokens (token_sha256, user_id, device_id, parent_sha256, created_ts) VALUES ($1, $2, $3, $4, $5)', [
      next.refreshTokenHash, row.user_id, row.device_id, used, now,
    ]);
    const owner: AccessTokenOwner = {
      userId: row.user_id, deviceId: row.device_id, isGuest: false, expiresTs: next.accessExpiresTs, refreshTokenHash: next.refreshTokenHash,
    };
    await insertAccessToken(tx, next.accessTokenHash, owner, now);
    return { ...owner, replacesRefreshToken: true };
  });

export const retireReplacedRefreshToken = (db: SqlDatabase, refreshTokenHash: string): Promise<void> =>
  db.transaction(async (tx) => {
    const { rows } = await tx.query<{ parent_sha256: string | null }>(
      'SELECT parent_sha256 FROM refresh_tokens WHERE token_sha256 = $1 FOR UPDATE',
      [refreshTokenHash],
    );
    const parent = rows[0]?.parent_sha256;
    if (parent == null) return;
    await tx.query('DELETE FROM refresh_tokens WHERE token_sha256 = $1', [parent]);
    await tx.query('UPDATE refresh_tokens SET parent_sha256 = NULL WHERE token_sha256 = $1', [refreshTokenHash]);
  });
