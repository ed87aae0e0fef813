/**
 * Synapse's shared-secret registration MAC (`/_synapse/admin/v1/register`): HMAC-SHA1 keyed with the
 * registration shared secret over `nonce \0 username \0 password \0 admin|notadmin`, hex encoded.
 */
import { createHmac } from 'node:crypto';

export interface SharedSecretRegistration {
  readonly nonce: string;
  readonly username: string;
  readonly password: string;
  readonly admin: boolean;
}

export const registrationMac = (secret: string, r: SharedSecretRegistration): string =>
  createHmac('sha1', secret)
    .update([r.nonce, r.username, r.password, r.admin ? 'admin' : 'notadmin'].join('\0'), 'utf8')
    .digest('hex');
