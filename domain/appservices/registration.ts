/**
 * Application service registrations (application-service-api.md § Registration), in the format
 * Synapse reads from `app_service_config_files`: one YAML mapping per bridge. Parsed here from the
 * decoded YAML value, so every problem names the field it is about; the file is read in infra/config.
 *
 * Namespace regexes are matched as Synapse matches them (Python's `re.match`): anchored at the
 * start of the id only, so `@irc_.*` also matches `@irc_bob:example.org` without a trailing `.*`.
 */
import { isJsonObject } from '../json.ts';

export interface Namespace {
  /** The regex as written in the file. */
  readonly source: string;
  /** `source` compiled, anchored at the start. */
  readonly regex: RegExp;
  readonly exclusive: boolean;
}

export interface Namespaces {
  readonly users: readonly Namespace[];
  readonly aliases: readonly Namespace[];
  readonly rooms: readonly Namespace[];
}

export interface AppserviceRegistration {
  readonly id: string;
  /** Where transactions and queries go; null: the bridge receives nothing (it only uses the client API). */
  readonly url: string | null;
  /** What the bridge presents to this server. */
  readonly asToken: string;
  /** What this server presents to the bridge. */
  readonly hsToken: string;
  readonly senderLocalpart: string;
  /** `@sender_localpart:server_name`, the bridge's own user. */
  readonly sender: string;
  readonly namespaces: Namespaces;
  /** Default true: the bridge's users are rate limited like anyone else's. */
  readonly rateLimited: boolean;
  /** Third-party protocols the bridge answers lookups for (`/thirdparty/*`). */
  readonly protocols: readonly string[];
  /** MSC2409 / spec v1.13 `receive_ephemeral`: typing, receipts, presence (and to-device) in transactions. */
  readonly receiveEphemeral: boolean;
  /** MSC3202: device masquerading, one-time-key counts and device list changes in transactions. */
  readonly msc3202: boolean;
  /** The file it came from, for messages. */
  readonly source: string;
}

/** A registration problem: which field, and what is wrong with it. */
export class RegistrationProblem extends Error {
  readonly source: string;
  readonly field: string;
  constructor(source: string, field: string, problem: string) {
    super(`application service registration ${source}: ${field}: ${problem}`);
    this.name = 'RegistrationProblem';
    this.source = source;
    this.field = field;
  }
}

const NAMESPACE_KINDS = ['users', 'aliases', 'rooms'] as const;

/** The first key present among `keys` (unstable names before stable ones are tried last). */
const firstPresent = (raw: Record<string, unknown>, keys: readonly string[]): { key: string; value: unknown } | undefined => {
  for (const key of keys) if (raw[key] !== undefined) return { key, value: raw[key] };
  return undefined;
};

/** Compiles a namespace regex as Synapse's `re.match` reads it: anchored at the start only. */
export const compileNamespaceRegex = (source: string): RegExp => new RegExp(`^(?:${source})`, 'u');

const parseNamespaces = (file: string, value: unknown): Namespaces => {
  if (value === undefined || value === null) return { users: [], aliases: [], rooms: [] };
  if (!isJsonObject(value)) throw new RegistrationProblem(file, 'namespaces', 'must be a mapping of users, aliases and rooms');
  const parsed: Record<(typeof NAMESPACE_KINDS)[number], Namespace[]> = { users: [], aliases: [], rooms: [] };
  for (const kind of NAMESPACE_KINDS) {
    const list = value[kind];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw new RegistrationProblem(file, `namespaces.${kind}`, 'must be a list');
    list.forEach((entry, index) => {
      const field = `namespaces.${kind}[${index}]`;
      if (!isJsonObject(entry)) throw new RegistrationProblem(file, field, 'must be a mapping with regex and exclusive');
      if (typeof entry.regex !== 'string' || entry.regex === '') throw new RegistrationProblem(file, `${field}.regex`, 'must be a non-empty string');
      if (typeof entry.exclusive !== 'boolean') throw new RegistrationProblem(file, `${field}.exclusive`, 'must be true or false');
      let regex: RegExp;
      try {
        regex = compileNamespaceRegex(entry.regex);
      } catch (error) {
        throw new RegistrationProblem(file, `${field}.regex`, `is not a valid regular expression (${(error as Error).message})`);
      }
      parsed[kind].push({ source: entry.regex, regex, exclusive: entry.exclusive });
    });
  }
  return parsed;
};

const requireToken = (file: string, raw: Record<string, unknown>, field: string): string => {
  const value = raw[field];
  if (typeof value !== 'string' || value === '') throw new RegistrationProblem(file, field, 'must be a non-empty string');
  if (/\s/.test(value)) throw new RegistrationProblem(file, field, 'must not contain whitespace');
  return value;
};

const optionalBoolean = (file: string, raw: Record<string, unknown>, keys: readonly string[], fallback: boolean): boolean => {
  const found = firstPresent(raw, keys);
  if (found === undefined || found.value === null) return fallback;
  if (typeof found.value !== 'boolean') throw new RegistrationProblem(file, found.key, 'must be true or false');
  return found.value;
};

/**
 * Parses one registration (the YAML file's decoded value). `source` names the file in problems.
 * Throws RegistrationProblem.
 */
export const parseRegistration = (raw: unknown, serverName: string, source: string): AppserviceRegistration => {
  if (!isJsonObject(raw)) throw new RegistrationProblem(source, '(file)', 'must be a mapping of keys to values');
  const id = raw.id;
  if (typeof id !== 'string' || id === '') throw new RegistrationProblem(source, 'id', 'must be a non-empty string');
  // Synapse: "url" is required, and may be null for a bridge that takes no transactions.
  if (!('url' in raw)) throw new RegistrationProblem(source, 'url', 'is required (a URL, or null when the service receives nothing)');
  const url = raw.url;
  if (url !== null) {
    if (typeof url !== 'string') throw new RegistrationProblem(source, 'url', 'must be an http(s) URL or null');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new RegistrationProblem(source, 'url', `"${url}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RegistrationProblem(source, 'url', 'must be an http or https URL');
  }
  const asToken = requireToken(source, raw, 'as_token');
  const hsToken = requireToken(source, raw, 'hs_token');
  const senderLocalpart = raw.sender_localpart;
  if (typeof senderLocalpart !== 'string' || senderLocalpart === '' || !/^[a-z0-9._=\-/+]+$/.test(senderLocalpart)) {
    throw new RegistrationProblem(source, 'sender_localpart', 'must be a non-empty user id localpart (a-z, 0-9, ._=-/+)');
  }
  const protocols = raw.protocols ?? [];
  if (!Array.isArray(protocols) || protocols.some((protocol) => typeof protocol !== 'string' || protocol === '')) {
    throw new RegistrationProblem(source, 'protocols', 'must be a list of protocol names');
  }
  // MSC4190's flag (`io.element.msc4190`) gated device management in Synapse; since spec v1.17 every
  // application service manages its users' devices, so the flag is only checked for its type.
  optionalBoolean(source, raw, ['io.element.msc4190', 'org.matrix.msc4190'], false);
  return {
    id,
    url: typeof url === 'string' ? url.replace(/\/+$/, '') : null,
    asToken,
    hsToken,
    senderLocalpart,
    sender: `@${senderLocalpart}:${serverName}`,
    namespaces: parseNamespaces(source, raw.namespaces),
    rateLimited: optionalBoolean(source, raw, ['rate_limited'], true),
    protocols: protocols as string[],
    receiveEphemeral: optionalBoolean(source, raw, ['receive_ephemeral', 'de.sorunome.msc2409.push_ephemeral', 'push_ephemeral'], false),
    msc3202: optionalBoolean(source, raw, ['org.matrix.msc3202'], false),
    source,
  };
};

/**
 * Checks registrations against each other, as Synapse does at start-up: ids, as_tokens and
 * hs_tokens are each unique. Throws RegistrationProblem naming the later file.
 */
export const checkRegistrations = (registrations: readonly AppserviceRegistration[]): void => {
  const seen = { id: new Map<string, string>(), as_token: new Map<string, string>(), hs_token: new Map<string, string>() };
  for (const registration of registrations) {
    const values = { id: registration.id, as_token: registration.asToken, hs_token: registration.hsToken };
    for (const field of ['id', 'as_token', 'hs_token'] as const) {
      const earlier = seen[field].get(values[field]);
      if (earlier !== undefined) throw new RegistrationProblem(registration.source, field, `is the same as in ${earlier}; each must be unique`);
      seen[field].set(values[field], registration.source);
    }
  }
};
