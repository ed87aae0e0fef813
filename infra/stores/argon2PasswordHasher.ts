/**
 * Password hashing with Node's built-in Argon2 (since Node 24.7): argon2id with OWASP's minimum
 * parameters (m = 19 MiB, t = 2, p = 1), stored as a PHC string
 * `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (unpadded standard base64), so a hash names its
 * own parameters and stays verifiable after the defaults change.
 */
import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PasswordHasher } from '../../domain/app/accounts/index.ts';

export interface Argon2Parameters {
  /** Memory in KiB. */
  readonly memory: number;
  readonly passes: number;
  readonly parallelism: number;
}

export const OWASP_ARGON2ID: Argon2Parameters = { memory: 19456, passes: 2, parallelism: 1 };

const SALT_BYTES = 16;
const TAG_BYTES = 32;
/** Argon2 version 1.3, the only one Node implements. */
const VERSION = 19;
const PHC = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
/** Refuse stored parameters that would let a corrupted row exhaust memory or CPU. */
const LIMITS = { memory: 1 << 22, passes: 64, parallelism: 64 };

const derive = (password: string, salt: Buffer, params: Argon2Parameters, tagLength: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    argon2('argon2id', { message: password, nonce: salt, tagLength, ...params }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });

const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

export const createArgon2PasswordHasher = (params: Argon2Parameters = OWASP_ARGON2ID): PasswordHasher => ({
  async hash(password) {
    const salt = randomBytes(SALT_BYTES);
    const tag = await derive(password, salt, params, TAG_BYTES);
    return `$argon2id$v=${VERSION}$m=${params.memory},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(tag)}`;
  },
  async verify(password, passwordHash) {
    const match = PHC.exec(passwordHash);
    if (match === null || Number(match[1]) !== VERSION) return false;
    const stored = { memory: Number(match[2]), passes: Number(match[3]), parallelism: Number(match[4]) };
    if (stored.memory > LIMITS.memory || stored.passes > LIMITS.passes || stored.parallelism > LIMITS.parallelism) return false;
    const salt = Buffer.from(match[5] as string, 'base64');
    const expected = Buffer.from(match[6] as string, 'base64');
    if (expected.length < 4) return false;
    try {
      const actual = await derive(password, salt, stored, expected.length);
      return timingSafeEqual(actual, expected);
    } catch {
      return false;
    }
  },
});
