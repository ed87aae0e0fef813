/**
 * Generated identifiers and secrets. The token format is the server's choice (client-server-api
 * § Client Authentication: clients treat it as opaque); only its SHA-256 is ever stored.
 */
import { createHash } from 'node:crypto';
import type { Random } from '../../ports/accounts.ts';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER_DIGITS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALPHANUMERIC = `${UPPER}abcdefghijklmnopqrstuvwxyz0123456789`;

/** 10 upper-case letters, the shape clients are used to seeing from Synapse. */
export const newDeviceId = (random: Random): string => random.string(10, UPPER);

/** ~238 bits of entropy behind a recognisable prefix (helps secret scanners). */
export const newAccessToken = (random: Random): string => `strata_${random.string(40, ALPHANUMERIC)}`;

/** Distinct prefix: an OpenID token is no access token and must never be mistaken for one. */
export const newOpenIdToken = (random: Random): string => `strata_oid_${random.string(40, ALPHANUMERIC)}`;

export const newRefreshToken = (random: Random): string => `strata_rt_${random.string(40, ALPHANUMERIC)}`;

export const newSessionId = (random: Random): string => random.string(24, ALPHANUMERIC);

/** A 3PID validation token, mailed as a link and typed by hand at worst: letters and digits only. */
export const newValidationToken = (random: Random): string => random.string(32, ALPHANUMERIC);

export const newNonce = (random: Random): string => random.string(32, ALPHANUMERIC);

/** A localpart for a registration that gave no username. */
export const newLocalpart = (random: Random): string => random.string(12, LOWER_DIGITS);

/** What the store keeps instead of the token: SHA-256, hex. */
export const hashAccessToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');
