/**
 * The config file's shape, as effect Schemas. Keys are snake_case as in the YAML file; every key is
 * optional here and defaults are applied in `toStrataConfig`, so the schema only judges values.
 */
import { Schema } from 'effect';
import { parseListenAddress, serverNameProblem } from './address.ts';
import { AppserviceFilesKeys } from './appservices.ts';
import { EmailFile, TrustedIdServers } from './email.ts';
import { CaptchaKeys, UserConsentFile } from './registrationStages.ts';
import { FederationFile } from './federation.ts';
import { RedactionRetentionSetting, RetentionFile } from './retention.ts';
import { UrlPreviewKeys } from './urlPreview.ts';
import { WebsocketFile } from './websocket.ts';
import { AnalyticsFile } from './analytics.ts';
import { SEARCH_LANGUAGES } from '../../projections/search/index.ts';

const problemFilter = (problemOf: (value: string) => string | undefined) =>
  Schema.makeFilter((value: string) => problemOf(value));

const urlWithScheme = (schemes: readonly string[]) => (value: string): string | undefined => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a URL`;
  }
  const scheme = url.protocol.slice(0, -1);
  return schemes.includes(scheme) ? undefined : `expected a ${schemes.join(' or ')} URL, got scheme "${scheme}"`;
};

const NonEmpty = Schema.String.check(Schema.makeFilter((s: string) => (s.trim() === '' ? 'must not be empty' : undefined)));

export const RateLimitFile = Schema.Struct({
  per_second: Schema.Finite.check(Schema.isGreaterThan(0)),
  burst: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
});

/** A rate limit, or null / false to turn it off. */
const RateLimitSetting = Schema.Union([RateLimitFile, Schema.Null, Schema.Literal(false)]);

/** support.yaml `Contact`: a role and at least one of `matrix_id` / `email_address`. */
const SupportContactFile = Schema.Struct({
  matrix_id: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^@[^:]+:.+$/))),
  email_address: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[^@\s]+@[^@\s]+$/))),
  role: NonEmpty,
}).check(Schema.makeFilter((contact: { matrix_id?: string; email_address?: string }) =>
  (contact.matrix_id === undefined && contact.email_address === undefined ? 'needs matrix_id or email_address' : undefined)));

/** `/.well-known/matrix/support` (support.yaml): at least one contact or a support page. */
const SupportFile = Schema.Struct({
  contacts: Schema.optionalKey(Schema.Array(SupportContactFile)),
  support_page: Schema.optionalKey(Schema.String.check(problemFilter(urlWithScheme(['http', 'https'])))),
}).check(Schema.makeFilter((support: { contacts?: readonly unknown[]; support_page?: string }) =>
  ((support.contacts?.length ?? 0) === 0 && support.support_page === undefined ? 'needs at least one contact or a support_page' : undefined)));

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const ListenAddressSetting = Schema.String.check(problemFilter((v) => {
  const parsed = parseListenAddress(v);
  return typeof parsed === 'string' ? parsed : undefined;
}));

export const ConfigFile = Schema.Struct({
  server_name: Schema.optionalKey(Schema.String.check(problemFilter(serverNameProblem))),
  listen: Schema.optionalKey(ListenAddressSetting),
  metrics_listen: Schema.optionalKey(ListenAddressSetting),
  // RFC 6750 b64token: what an Authorization: Bearer header can carry.
  metrics_token: Schema.optionalKey(Schema.String.check(Schema.makeFilter((s: string) =>
    (/^[A-Za-z0-9._~+/-]+=*$/.test(s) ? undefined : 'must be a bearer token: letters, digits and -._~+/ (then any =)')))),
  data_dir: Schema.optionalKey(NonEmpty),
  public_base_url: Schema.optionalKey(Schema.String.check(problemFilter(urlWithScheme(['http', 'https'])))),
  support: Schema.optionalKey(SupportFile),
  registration: Schema.optionalKey(Schema.Literals(['disabled', 'open'])),
  registration_shared_secret: Schema.optionalKey(NonEmpty),
  ...CaptchaKeys,
  user_consent: Schema.optionalKey(UserConsentFile),
  allow_guest_access: Schema.optionalKey(Schema.Boolean),
  kafka_brokers: Schema.optionalKey(Schema.Array(Schema.String.check(problemFilter((v) => {
    const parsed = parseListenAddress(v);
    return typeof parsed === 'string' ? `broker "${v}" is not host:port` : undefined;
  })))),
  kafka_namespace: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{1,64}$/))),
  postgres_url: Schema.optionalKey(Schema.String.check(problemFilter(urlWithScheme(['postgres', 'postgresql'])))),
  clickhouse_url: Schema.optionalKey(Schema.String.check(problemFilter(urlWithScheme(['http', 'https'])))),
  clickhouse_database: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*$/))),
  log_level: Schema.optionalKey(Schema.Literals(LOG_LEVELS)),
  // PostgreSQL's text search configuration for /search (no Synapse key: Synapse always uses `english`).
  search_language: Schema.optionalKey(Schema.Literals(SEARCH_LANGUAGES)),
  rate_limits: Schema.optionalKey(Schema.Struct({
    login: Schema.optionalKey(RateLimitSetting),
    registration: Schema.optionalKey(RateLimitSetting),
    messages: Schema.optionalKey(RateLimitSetting),
    threepid_validation: Schema.optionalKey(RateLimitSetting),
    media_create: Schema.optionalKey(RateLimitSetting),
  })),
  redaction_retention_period: Schema.optionalKey(RedactionRetentionSetting),
  // No Synapse key: how soon a device long-polling right after an answer gets the next (sync.ts `paced`).
  sync_response_interval_ms: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(1_000))),
  // Synapse's `max_upload_size`: bytes, or a size with a K/M/G suffix (`50M`).
  max_upload_size: Schema.optionalKey(Schema.Union([
    Schema.Int.check(Schema.isGreaterThan(0)),
    Schema.String.check(Schema.isPattern(/^[1-9]\d{0,12}[KMG]?$/i)),
  ])),
  // Synapse's `max_image_pixels` (`32M`): larger images are not thumbnailed.
  max_image_pixels: Schema.optionalKey(Schema.Union([
    Schema.Int.check(Schema.isGreaterThan(0)),
    Schema.String.check(Schema.isPattern(/^[1-9]\d{0,12}[KMG]?$/i)),
  ])),
  // Synapse's `thumbnail_sizes`: the thumbnails made of every image at upload.
  thumbnail_sizes: Schema.optionalKey(Schema.Array(Schema.Struct({
    width: Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(10_000)),
    height: Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(10_000)),
    method: Schema.Literals(['crop', 'scale']),
  }))),
  retention: Schema.optionalKey(RetentionFile),
  websocket: Schema.optionalKey(WebsocketFile),
  analytics: Schema.optionalKey(AnalyticsFile),
  federation: Schema.optionalKey(FederationFile),
  email: Schema.optionalKey(EmailFile),
  trusted_third_party_id_servers: Schema.optionalKey(TrustedIdServers),
  ...UrlPreviewKeys,
  ...AppserviceFilesKeys,
});

export type ConfigFile = typeof ConfigFile.Type;
