/**
 * The `federation:` section: Strata's own TLS listener for other homeservers, and how this server
 * talks to them (certificate checks, which addresses and servers it may reach, whom it asks for
 * keys). The names follow Synapse's settings of the same meaning.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { Schema } from 'effect';
import { parseListenAddress, serverNameProblem, type ListenAddress } from './address.ts';

export interface FederationSettings {
  /** Strata's own TLS listener (client + federation API, like a Synapse listener with both); unset ⇒ none. */
  readonly listen?: ListenAddress;
  /** PEM certificate (chain) and key of that listener; both unset ⇒ a self-signed certificate kept in the data dir. */
  readonly tlsCertificatePath?: string;
  readonly tlsPrivateKeyPath?: string;
  /** Whether outbound federation requests check the remote server's certificate. */
  readonly verifyCertificates: boolean;
  /** CIDR ranges outbound federation may reach although they are private or loopback. */
  readonly ipRangeWhitelist: readonly string[];
  /** Set ⇒ only these servers are federated with (Synapse's `federation_domain_whitelist`). */
  readonly domainWhitelist?: readonly string[];
  /** Servers asked for other servers' keys (notary); empty ⇒ keys are fetched from each server itself. */
  readonly trustedKeyServers: readonly string[];
  /** A Synapse-format signing key file (`ed25519 <version> <base64 seed>`); unset ⇒ the key kept in the database. */
  readonly signingKeyPath?: string;
  /** The federation sender's rest after a destination's first failed transaction, doubled per failure; unset ⇒ 2 s. */
  readonly senderBackoffStartMs?: number;
  /** The longest rest; unset ⇒ 10 minutes. */
  readonly senderBackoffMaxMs?: number;
}

/** Problem with a CIDR range (`10.0.0.0/8`, `::1/128`; a bare address means the one address), or undefined. */
export const cidrProblem = (value: string): string | undefined => {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const v4 = isIPv4(address);
  if (!v4 && !isIPv6(address)) return `"${value}" is not a CIDR range: "${address}" is not an IP address`;
  if (slash < 0) return undefined;
  const prefix = value.slice(slash + 1);
  const max = v4 ? 32 : 128;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= max
    ? undefined
    : `"${value}" is not a CIDR range: the prefix length must be 0–${max}`;
};

const problemFilter = (problemOf: (value: string) => string | undefined) =>
  Schema.makeFilter((value: string) => problemOf(value));

const PathSetting = Schema.String.check(Schema.makeFilter((s: string) => (s.trim() === '' ? 'must not be empty' : undefined)));

const ServerNameSetting = Schema.String.check(problemFilter(serverNameProblem));

const MillisecondsSetting = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1));

export const FederationFile = Schema.Struct({
  listen: Schema.optionalKey(Schema.String.check(problemFilter((v) => {
    const parsed = parseListenAddress(v);
    return typeof parsed === 'string' ? parsed : undefined;
  }))),
  tls_certificate_path: Schema.optionalKey(PathSetting),
  tls_private_key_path: Schema.optionalKey(PathSetting),
  verify_certificates: Schema.optionalKey(Schema.Boolean),
  ip_range_whitelist: Schema.optionalKey(Schema.Array(Schema.String.check(problemFilter(cidrProblem)))),
  domain_whitelist: Schema.optionalKey(Schema.Array(ServerNameSetting)),
  trusted_key_servers: Schema.optionalKey(Schema.Array(ServerNameSetting)),
  signing_key_path: Schema.optionalKey(PathSetting),
  sender_backoff_start_ms: Schema.optionalKey(MillisecondsSetting),
  sender_backoff_max_ms: Schema.optionalKey(MillisecondsSetting),
});

export type FederationFile = typeof FederationFile.Type;

/** Variables of this section → keys under `federation`. */
export const FEDERATION_ENV_KEYS = {
  STRATA_FEDERATION_LISTEN: 'listen',
  STRATA_TLS_CERTIFICATE_PATH: 'tls_certificate_path',
  STRATA_TLS_PRIVATE_KEY_PATH: 'tls_private_key_path',
  STRATA_FEDERATION_VERIFY_CERTIFICATES: 'verify_certificates',
  STRATA_FEDERATION_IP_RANGE_WHITELIST: 'ip_range_whitelist',
  STRATA_FEDERATION_DOMAIN_WHITELIST: 'domain_whitelist',
  STRATA_SIGNING_KEY_PATH: 'signing_key_path',
  STRATA_FEDERATION_SENDER_BACKOFF_START_MS: 'sender_backoff_start_ms',
  STRATA_FEDERATION_SENDER_BACKOFF_MAX_MS: 'sender_backoff_max_ms',
} as const;

/**
 * A variable's text as the value its key takes: comma lists become arrays, `true`/`false` booleans;
 * anything else stays a string, for the schema to refuse with the key's name.
 */
export const federationEnvValue = (key: string, raw: string): unknown => {
  if (key === 'ip_range_whitelist' || key === 'domain_whitelist') return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (key === 'verify_certificates') return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (key === 'sender_backoff_start_ms' || key === 'sender_backoff_max_ms') return /^\d+$/.test(raw) ? Number(raw) : raw;
  return raw;
};

/** A problem between this section's keys, as `key: problem`, or undefined. */
export const federationCrossKeyProblem = (file: FederationFile | undefined): { key: string; problem: string } | undefined => {
  if (file === undefined) return undefined;
  const cert = file.tls_certificate_path !== undefined;
  const key = file.tls_private_key_path !== undefined;
  if (cert && !key) return { key: 'federation.tls_certificate_path', problem: 'needs federation.tls_private_key_path' };
  if (key && !cert) return { key: 'federation.tls_private_key_path', problem: 'needs federation.tls_certificate_path' };
  if (cert && file.listen === undefined) {
    return { key: 'federation.tls_certificate_path', problem: 'needs federation.listen (the certificate is for that listener)' };
  }
  const start = file.sender_backoff_start_ms;
  const max = file.sender_backoff_max_ms;
  if (start !== undefined && max !== undefined && max < start) {
    return { key: 'federation.sender_backoff_max_ms', problem: `must not be below federation.sender_backoff_start_ms (${start})` };
  }
  return undefined;
};

export const federationSettings = (file: FederationFile | undefined): FederationSettings => {
  const listen = file?.listen === undefined ? undefined : parseListenAddress(file.listen);
  // The schema has checked it; a string here would be a bug in that check.
  if (typeof listen === 'string') throw new Error(`federation.listen: ${listen}`);
  return {
    ...(listen === undefined ? {} : { listen }),
    ...(file?.tls_certificate_path === undefined ? {} : { tlsCertificatePath: file.tls_certificate_path }),
    ...(file?.tls_private_key_path === undefined ? {} : { tlsPrivateKeyPath: file.tls_private_key_path }),
    verifyCertificates: file?.verify_certificates ?? true,
    ipRangeWhitelist: file?.ip_range_whitelist ?? [],
    ...(file?.domain_whitelist === undefined ? {} : { domainWhitelist: file.domain_whitelist }),
    trustedKeyServers: file?.trusted_key_servers ?? [],
    ...(file?.signing_key_path === undefined ? {} : { signingKeyPath: file.signing_key_path }),
    ...(file?.sender_backoff_start_ms === undefined ? {} : { senderBackoffStartMs: file.sender_backoff_start_ms }),
    ...(file?.sender_backoff_max_ms === undefined ? {} : { senderBackoffMaxMs: file.sender_backoff_max_ms }),
  };
};
