/**
 * URL previews (`/media/preview_url`), with Synapse's top-level keys: `url_preview_enabled` (off by
 * default), `url_preview_ip_range_blacklist` (default: the special-purpose ranges federation refuses,
 * where Synapse insists on an explicit list), `url_preview_ip_range_whitelist`,
 * `url_preview_url_blacklist`, `url_preview_accept_language` and `max_spider_size` (10M).
 */
import { Schema } from 'effect';
import { urlBlacklistEntryProblem, type UrlBlacklistEntry } from '../../domain/app/media/urlPreview/index.ts';
import { cidrProblem } from './federation.ts';

export interface UrlPreviewSettings {
  readonly enabled: boolean;
  /** Refused ranges; unset ⇒ domain/federation's DEFAULT_BLOCKED_RANGES. */
  readonly ipRangeBlacklist?: readonly string[];
  readonly ipRangeWhitelist: readonly string[];
  readonly urlBlacklist: readonly UrlBlacklistEntry[];
  readonly acceptLanguage: readonly string[];
  /** Largest page or image fetched, in bytes. */
  readonly maxSpiderSize: number;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Bytes of a size (`10M`, `512K`, or a number of bytes, as Synapse's parse_size), or a problem. */
export const parseSize = (value: string | number): number | string => {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : 'must be a positive whole number of bytes';
  const match = /^(\d+)([KMG]?)$/i.exec(value.trim());
  if (match === null) return `"${value}" is not a size (e.g. 10M, 512K)`;
  const bytes = Number(match[1]) * SIZE_UNITS[match[2]!.toUpperCase()]!;
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : 'must be a positive size';
};

const SizeSetting = Schema.Union([Schema.String, Schema.Number]).check(Schema.makeFilter((value: string | number) => {
  const parsed = parseSize(value);
  return typeof parsed === 'string' ? parsed : undefined;
}));

const CidrList = Schema.Array(Schema.String.check(Schema.makeFilter((value: string) => cidrProblem(value))));

const UrlBlacklistEntrySetting = Schema.Record(Schema.String, Schema.String).check(Schema.makeFilter((entry: Readonly<Record<string, string>>) => urlBlacklistEntryProblem(entry)));

/** The keys, spread into the config file's schema. */
export const UrlPreviewKeys = {
  url_preview_enabled: Schema.optionalKey(Schema.Boolean),
  url_preview_ip_range_blacklist: Schema.optionalKey(CidrList),
  url_preview_ip_range_whitelist: Schema.optionalKey(CidrList),
  url_preview_url_blacklist: Schema.optionalKey(Schema.Array(UrlBlacklistEntrySetting)),
  url_preview_accept_language: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9*,;=. -]{1,64}$/)))),
  max_spider_size: Schema.optionalKey(SizeSetting),
};

export interface UrlPreviewFile {
  readonly url_preview_enabled?: boolean;
  readonly url_preview_ip_range_blacklist?: readonly string[];
  readonly url_preview_ip_range_whitelist?: readonly string[];
  readonly url_preview_url_blacklist?: readonly Readonly<Record<string, string>>[];
  readonly url_preview_accept_language?: readonly string[];
  readonly max_spider_size?: string | number;
}

export const urlPreviewSettings = (file: UrlPreviewFile): UrlPreviewSettings => ({
  enabled: file.url_preview_enabled ?? false,
  ...(file.url_preview_ip_range_blacklist === undefined ? {} : { ipRangeBlacklist: file.url_preview_ip_range_blacklist }),
  ipRangeWhitelist: file.url_preview_ip_range_whitelist ?? [],
  urlBlacklist: file.url_preview_url_blacklist ?? [],
  acceptLanguage: file.url_preview_accept_language ?? ['en'],
  maxSpiderSize: file.max_spider_size === undefined ? 10 * 1024 ** 2 : parseSize(file.max_spider_size) as number,
});
