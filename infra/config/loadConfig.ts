/**
 * Loads Strata's one typed config: an optional YAML file (path in STRATA_CONFIG) overlaid by
 * STRATA_* environment variables, validated with effect Schema. Any problem throws a ConfigError
 * whose one-line message names the key (and the variable, when the value came from one).
 */
import { readFileSync } from 'node:fs';
import { Result, Schema, SchemaIssue } from 'effect';
import { parse as parseYaml } from 'yaml';
import { parseListenAddress, type ListenAddress } from './address.ts';
import { appserviceRegistrations } from './appservices.ts';
import {
  FEDERATION_ENV_KEYS, federationCrossKeyProblem, federationEnvValue, federationSettings, type FederationSettings,
} from './federation.ts';
import { emailSettings, type EmailSettings } from './email.ts';
import {
  captchaProblem, registrationCaptchaSettings, userConsentSettings, type RegistrationCaptchaSettings, type UserConsentSettings,
} from './registrationStages.ts';
import { redactionRetentionMs, retentionSettings } from './retention.ts';
import { urlPreviewSettings, type UrlPreviewSettings } from './urlPreview.ts';
import { websocketSettings, type WebsocketSettings } from './websocket.ts';
import { ANALYTICS_ENV_KEYS, analyticsEnvValue, analyticsSettings, type AnalyticsSettings } from './analytics.ts';
import { ConfigFile, LOG_LEVELS } from './schema.ts';
import { DEFAULT_SEARCH_LANGUAGE, type SearchLanguage } from '../../projections/search/index.ts';
import type { RetentionSettings } from '../../domain/app/retention/index.ts';
import type { AppserviceRegistration } from '../../domain/index.ts';
import { DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_THUMBNAIL_SIZES, type ThumbnailSize } from '../../domain/app/media/index.ts';

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export interface StrataConfig {
  readonly serverName: string;
  readonly listen: ListenAddress;
  /**
   * The Prometheus `/metrics` listener, apart from the client listener so that metrics are not
   * served to anyone who can reach the API; unset ⇒ no metrics are served.
   */
  readonly metrics?: { readonly listen: ListenAddress; readonly token?: string };
  readonly dataDir: string;
  /** Clients' URL of this server (`/.well-known/matrix/client`); unset ⇒ `http://<listen address>`. */
  readonly publicBaseUrl?: string;
  /** `/.well-known/matrix/support` (support.yaml); unset ⇒ 404. */
  readonly support?: {
    readonly contacts: readonly { readonly role: string; readonly matrixId?: string; readonly emailAddress?: string }[];
    readonly supportPage?: string;
  };
  readonly registration: 'disabled' | 'open';
  readonly registrationSharedSecret?: string;
  /** `enable_registration_captcha` and the `recaptcha_*` keys: registration asks for `m.login.recaptcha`. */
  readonly registrationCaptcha?: RegistrationCaptchaSettings;
  /** `user_consent`: the privacy policy (served at `/_matrix/consent`), asked for at registration if required. */
  readonly userConsent?: UserConsentSettings;
  /** `allow_guest_access` (Synapse's key): `POST /register?kind=guest` creates guest accounts. Off by default. */
  readonly allowGuestAccess: boolean;
  /** Set ⇒ the room log is Kafka; unset ⇒ the embedded log in `<dataDir>/log`. */
  readonly kafkaBrokers?: readonly string[];
  /** Prefix of this server's Kafka topics and consumer groups, so several servers share one cluster. */
  readonly kafkaNamespace?: string;
  /** Set ⇒ read models in PostgreSQL; unset ⇒ PGlite in `<dataDir>/pglite`. */
  readonly postgresUrl?: string;
  /** Optional analytics store; unset ⇒ no ClickHouse. */
  readonly clickhouse?: { readonly url: string; readonly database: string };
  readonly logLevel: LogLevel;
  /** The search projection's text search configuration (`simple`: no stemming, any language). */
  readonly searchLanguage: SearchLanguage;
  /** null = no limit. */
  readonly rateLimits: {
    readonly login: RateLimit | null;
    readonly registration: RateLimit | null;
    readonly messages: RateLimit | null;
    /** `…/requestToken` per client IP: each may send a mail (Synapse's `rc_3pid_validation`). */
    readonly threepidValidation: RateLimit | null;
    /** Uploads and asynchronous media creations per user (Synapse's `rc_media_create`). */
    readonly mediaCreate: RateLimit | null;
  };
  /** Largest media upload in bytes (Synapse's `max_upload_size`, 50 MiB by default). */
  readonly maxUploadSize: number;
  /** Images with more pixels are not thumbnailed (Synapse's `max_image_pixels`, 32M by default). */
  readonly maxImagePixels: number;
  /** Thumbnails made of every image at upload (Synapse's `thumbnail_sizes`). */
  readonly thumbnailSizes: readonly ThumbnailSize[];
  /** How long redacted content stays in the log (sealed) before its key is destroyed; null = forever. */
  readonly redactionRetentionMs: number | null;
  /** A device long-polling /sync right after an answer gets the next no sooner than this (0: at once). */
  readonly syncResponseIntervalMs: number;
  /** Room message retention policies (`retention.enabled`); null = off. */
  readonly retention: RetentionSettings | null;
  /** The `websocket:` section (infra/config/websocket.ts): bounds of the WebSocket streams. */
  readonly websocket: WebsocketSettings;
  /** The `analytics:` section (infra/config/analytics.ts): analysts besides admins, export bounds. */
  readonly analytics: AnalyticsSettings;
  /** The `federation:` section (infra/config/federation.ts). */
  readonly federation: FederationSettings;
  /** The `email:` section (infra/config/email.ts); unset ⇒ no email can be validated. */
  readonly email?: EmailSettings;
  /** Identity servers (`id_server` as clients name them) users may bind at and invite through; none by default. */
  readonly trustedIdServers: readonly string[];
  /** `/media/preview_url` (infra/config/urlPreview.ts); off unless `url_preview_enabled`. */
  readonly urlPreview: UrlPreviewSettings;
  /** `app_service_config_files`: the bridges this server serves (infra/config/appservices.ts); none by default. */
  readonly appservices: readonly AppserviceRegistration[];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;
export type ReadConfigFile = (path: string) => string;

/** Environment variable → config key. An empty variable counts as unset. */
const ENV_KEYS = {
  STRATA_SERVER_NAME: 'server_name',
  STRATA_LISTEN: 'listen',
  STRATA_METRICS_LISTEN: 'metrics_listen',
  STRATA_METRICS_TOKEN: 'metrics_token',
  STRATA_DATA_DIR: 'data_dir',
  STRATA_PUBLIC_BASE_URL: 'public_base_url',
  STRATA_REGISTRATION: 'registration',
  STRATA_REGISTRATION_SHARED_SECRET: 'registration_shared_secret',
  STRATA_ALLOW_GUEST_ACCESS: 'allow_guest_access',
  STRATA_KAFKA_BROKERS: 'kafka_brokers',
  STRATA_KAFKA_NAMESPACE: 'kafka_namespace',
  STRATA_POSTGRES_URL: 'postgres_url',
  STRATA_CLICKHOUSE_URL: 'clickhouse_url',
  STRATA_CLICKHOUSE_DATABASE: 'clickhouse_database',
  STRATA_LOG_LEVEL: 'log_level',
  STRATA_SEARCH_LANGUAGE: 'search_language',
  STRATA_REDACTION_RETENTION_PERIOD: 'redaction_retention_period',
  STRATA_MAX_UPLOAD_SIZE: 'max_upload_size',
  STRATA_MAX_IMAGE_PIXELS: 'max_image_pixels',
  STRATA_APP_SERVICE_CONFIG_FILES: 'app_service_config_files',
} as const;

const DEFAULT_RATE_LIMITS = {
  login: { perSecond: 0.2, burst: 5 },
  registration: { perSecond: 0.17, burst: 3 },
  messages: null,
  threepidValidation: { perSecond: 0.003, burst: 5 },
  mediaCreate: { perSecond: 10, burst: 50 },
} as const;

const DEFAULT_MAX_UPLOAD_SIZE = 50 * 1024 * 1024;
/**
 * Busy rooms' listeners get a few events per /sync answer instead of one (docs/benchmarks.md round
 * 14: 1–6 % less of the server's CPU at 500 and 1,000 messages/s with four listeners per room);
 * a quiet room's event goes out at once.
 */
const DEFAULT_SYNC_RESPONSE_INTERVAL_MS = 20;

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `max_upload_size`, `max_image_pixels`: a number, or `<n>K`/`M`/`G` as Synapse reads it (powers of 1024). */
const byteSize = (value: number | string | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const match = /^(\d+)([KMG]?)$/i.exec(value)!;
  return Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!;
};

const readYaml = (path: string, readFile: ReadConfigFile): Record<string, unknown> => {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`cannot read config file ${path} (STRATA_CONFIG): ${reason}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]?.replace(/:$/, '')}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`config file ${path} must be a mapping of keys to values`);
  }
  return doc as Record<string, unknown>;
};

/** Values from the variables, and which variable set each key (dotted for nested keys: `federation.listen`). */
const fromEnv = (env: Env): { values: Record<string, unknown>; sources: Map<string, string> } => {
  const values: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    values[key] = key === 'kafka_brokers' || key === 'app_service_config_files' ? raw.split(',').map((b) => b.trim()).filter((b) => b !== '')
      : key === 'redaction_retention_period' && raw === 'null' ? null
      : key === 'allow_guest_access' && (raw === 'true' || raw === 'false') ? raw === 'true' : raw;
    sources.set(key, name);
  }
  const federation: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(FEDERATION_ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    federation[key] = federationEnvValue(key, raw);
    sources.set(`federation.${key}`, name);
  }
  if (Object.keys(federation).length > 0) values.federation = federation;
  const analytics: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ANALYTICS_ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    analytics[key] = analyticsEnvValue(raw);
    sources.set(`analytics.${key}`, name);
  }
  if (Object.keys(analytics).length > 0) values.analytics = analytics;
  return { values, sources };
};

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The file's values overlaid by the variables'; a section set in both keeps the file's other keys. */
const overlay = (file: Record<string, unknown>, env: Record<string, unknown>): Record<string, unknown> => {
  const merged = { ...file };
  for (const [key, value] of Object.entries(env)) {
    const below = merged[key];
    merged[key] = isMapping(below) && isMapping(value) ? { ...below, ...value } : value;
  }
  return merged;
};

const formatter = SchemaIssue.makeFormatterStandardSchemaV1();

const describeIssues = (error: Schema.SchemaError, sources: ReadonlyMap<string, string>, file?: string): string => {
  const lines = formatter(error.issue).issues.map(({ message, path }) => {
    const keys = (path ?? []).map((p) => (typeof p === 'object' ? p.key : p));
    const top = String(keys[0] ?? '');
    const key = keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`)).join('');
    // A nested key set by a variable is named by its dotted path (`federation.listen`).
    const origin = sources.get(keys.slice(0, 2).map(String).join('.')) ?? sources.get(top) ?? (file === undefined ? undefined : file);
    const where = `${key || '(top level)'}${origin === undefined ? '' : ` (from ${origin})`}`;
    const problem = message === 'Expected no excess property' ? 'unknown key' : message;
    return `${where}: ${problem}`;
  });
  return `invalid config: ${lines.join('; ')}`;
};

const rateLimit = (
  value: { per_second: number; burst: number } | null | false | undefined,
  fallback: RateLimit | null,
): RateLimit | null => {
  if (value === undefined) return fallback;
  if (value === null || value === false) return null;
  return { perSecond: value.per_second, burst: value.burst };
};

/** Checks between keys, once each value is valid on its own. */
const crossKeyProblem = (file: ConfigFile, sources: ReadonlyMap<string, string>, filePath?: string): string | undefined => {
  const where = (key: string) => {
    const origin = sources.get(key) ?? filePath;
    return `${key}${origin === undefined ? '' : ` (from ${origin})`}`;
  };
  if (file.metrics_token !== undefined && file.metrics_listen === undefined) {
    return `${where('metrics_token')}: needs metrics_listen (metrics are served only on their own listener)`;
  }
  if (file.metrics_listen !== undefined) {
    const metrics = parseListenAddress(file.metrics_listen);
    const listen = parseListenAddress(file.listen ?? '127.0.0.1:8008');
    if (typeof metrics !== 'string' && typeof listen !== 'string' && metrics.port !== 0 && metrics.port === listen.port
      && (metrics.host === listen.host || ['0.0.0.0', '::'].includes(metrics.host) || ['0.0.0.0', '::'].includes(listen.host))) {
      return `${where('metrics_listen')}: must differ from listen (metrics are not served on the client listener)`;
    }
  }
  const captcha = captchaProblem(file);
  if (captcha !== undefined) return `${where(captcha.key)}: ${captcha.problem}`;
  const federation = federationCrossKeyProblem(file.federation);
  if (federation !== undefined) return `${where(federation.key)}: ${federation.problem}`;
  return undefined;
};

/** `{ [key]: value }`, or nothing when the value is undefined (the config's optional keys are absent, not undefined). */
const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

const toStrataConfig = (file: ConfigFile, appservices: readonly AppserviceRegistration[]): StrataConfig => {
  const listen = parseListenAddress(file.listen ?? '127.0.0.1:8008');
  if (typeof listen === 'string') throw new ConfigError(`invalid config: listen: ${listen}`);
  const metricsListen = file.metrics_listen === undefined ? undefined : parseListenAddress(file.metrics_listen);
  if (typeof metricsListen === 'string') throw new ConfigError(`invalid config: metrics_listen: ${metricsListen}`);
  const kafkaBrokers = file.kafka_brokers !== undefined && file.kafka_brokers.length > 0 ? file.kafka_brokers : undefined;
  return {
    serverName: file.server_name ?? 'localhost',
    listen,
    ...(metricsListen === undefined ? {} : {
      metrics: { listen: metricsListen, ...(file.metrics_token === undefined ? {} : { token: file.metrics_token }) },
    }),
    dataDir: file.data_dir ?? './data',
    ...(file.public_base_url === undefined ? {} : { publicBaseUrl: file.public_base_url }),
    ...(file.support === undefined ? {} : {
      support: {
        contacts: (file.support.contacts ?? []).map((contact) => ({
          role: contact.role,
          ...(contact.matrix_id === undefined ? {} : { matrixId: contact.matrix_id }),
          ...(contact.email_address === undefined ? {} : { emailAddress: contact.email_address }),
        })),
        ...(file.support.support_page === undefined ? {} : { supportPage: file.support.support_page }),
      },
    }),
    registration: file.registration ?? 'disabled',
    ...(file.registration_shared_secret === undefined ? {} : { registrationSharedSecret: file.registration_shared_secret }),
    ...optional('registrationCaptcha', registrationCaptchaSettings(file)),
    ...optional('userConsent', userConsentSettings(file.user_consent)),
    allowGuestAccess: file.allow_guest_access ?? false,
    ...(kafkaBrokers === undefined ? {} : { kafkaBrokers }),
    ...(file.kafka_namespace === undefined ? {} : { kafkaNamespace: file.kafka_namespace }),
    ...(file.postgres_url === undefined ? {} : { postgresUrl: file.postgres_url }),
    ...(file.clickhouse_url === undefined
      ? {}
      : { clickhouse: { url: file.clickhouse_url, database: file.clickhouse_database ?? 'strata' } }),
    logLevel: file.log_level ?? 'info',
    searchLanguage: file.search_language ?? DEFAULT_SEARCH_LANGUAGE,
    rateLimits: {
      login: rateLimit(file.rate_limits?.login, DEFAULT_RATE_LIMITS.login),
      registration: rateLimit(file.rate_limits?.registration, DEFAULT_RATE_LIMITS.registration),
      messages: rateLimit(file.rate_limits?.messages, DEFAULT_RATE_LIMITS.messages),
      threepidValidation: rateLimit(file.rate_limits?.threepid_validation, DEFAULT_RATE_LIMITS.threepidValidation),
      mediaCreate: rateLimit(file.rate_limits?.media_create, DEFAULT_RATE_LIMITS.mediaCreate),
    },
    maxUploadSize: byteSize(file.max_upload_size, DEFAULT_MAX_UPLOAD_SIZE),
    maxImagePixels: byteSize(file.max_image_pixels, DEFAULT_MAX_IMAGE_PIXELS),
    thumbnailSizes: file.thumbnail_sizes ?? DEFAULT_THUMBNAIL_SIZES,
    redactionRetentionMs: redactionRetentionMs(file.redaction_retention_period),
    syncResponseIntervalMs: file.sync_response_interval_ms ?? DEFAULT_SYNC_RESPONSE_INTERVAL_MS,
    retention: retentionSettings(file.retention),
    websocket: websocketSettings(file.websocket),
    analytics: analyticsSettings(file.analytics),
    federation: federationSettings(file.federation),
    ...(file.email === undefined ? {} : { email: emailSettings(file.email)! }),
    trustedIdServers: file.trusted_third_party_id_servers ?? [],
    urlPreview: urlPreviewSettings(file),
    appservices,
  };
};

/**
 * Reads the config from `env` (STRATA_* variables) and, when STRATA_CONFIG names one, a YAML file
 * read through `readFile`. Environment variables override the file. Throws ConfigError.
 */
export const loadConfig = (env: Env, readFile: ReadConfigFile = (path) => readFileSync(path, 'utf8')): StrataConfig => {
  const filePath = env.STRATA_CONFIG === '' ? undefined : env.STRATA_CONFIG;
  const fileValues = filePath === undefined ? {} : readYaml(filePath, readFile);
  const { values: envValues, sources } = fromEnv(env);
  const merged = overlay(fileValues, envValues);
  const decoded = Schema.decodeUnknownResult(ConfigFile)(merged, { errors: 'all', onExcessProperty: 'error' });
  if (Result.isFailure(decoded)) throw new ConfigError(describeIssues(decoded.failure, sources, filePath));
  const problem = crossKeyProblem(decoded.success, sources, filePath);
  if (problem !== undefined) throw new ConfigError(`invalid config: ${problem}`);
  const serverName = decoded.success.server_name ?? 'localhost';
  const appservices = appserviceRegistrations(decoded.success.app_service_config_files, serverName, readFile, (message) => new ConfigError(message));
  return toStrataConfig(decoded.success, appservices);
};
