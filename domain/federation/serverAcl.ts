/**
 * Server access control lists (client-server-api § m.room.server_acl, server-server-api § Server
 * Access Control Lists): whether a server may take part in a room over federation. Pure; the
 * application reads the room's current `m.room.server_acl` and asks here.
 *
 * Malformed content is read as Synapse reads it (synapse/federation/federation_server.py
 * `server_acl_evaluator_from_event` and the Rust `ServerAclEvaluator`): a non-boolean
 * `allow_ip_literals` counts as true, a non-array `allow` or `deny` as empty, non-string entries
 * are skipped. So a redacted ACL (content `{}`) denies every server, as in Synapse.
 */
import { isJsonObject, type JsonValue } from '../json.ts';

export interface ServerAcl {
  readonly allowIpLiterals: boolean;
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

const stringsOf = (value: JsonValue | undefined): string[] =>
  Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];

/** The ACL an `m.room.server_acl` content states, with Synapse's defaults for missing or malformed fields. */
export const parseServerAcl = (content: JsonValue): ServerAcl => {
  const fields = isJsonObject(content) ? content : {};
  return {
    allowIpLiterals: typeof fields.allow_ip_literals === 'boolean' ? fields.allow_ip_literals : true,
    allow: stringsOf(fields.allow),
    deny: stringsOf(fields.deny),
  };
};

/**
 * The host of a server name: "the suspect server's port number must not be considered". An IPv6
 * literal keeps its brackets (`[::1]:8448` → `[::1]`), as Synapse's `parse_server_name` leaves it.
 */
export const serverNameHost = (serverName: string): string => {
  if (serverName.startsWith('[')) {
    const end = serverName.indexOf(']');
    return end === -1 ? serverName : serverName.slice(0, end + 1);
  }
  const colon = serverName.lastIndexOf(':');
  return colon === -1 ? serverName : serverName.slice(0, colon);
};

/** A dotted-quad IPv4 address, strictly (no leading zeros, octets ≤ 255), as Rust's `Ipv4Addr` parses it for Synapse. */
const isIpv4Literal = (host: string): boolean => {
  const octets = host.split('.');
  return octets.length === 4 && octets.every((octet) => /^(0|[1-9]\d{0,2})$/.test(octet) && Number(octet) <= 255);
};

/** An IP address literal: IPv6 literals are bracketed in server names, so (as Synapse) a leading `[` is enough. */
export const isIpLiteralHost = (host: string): boolean => host.startsWith('[') || isIpv4Literal(host);

/**
 * appendices § Glob-style matching: `*` matches zero or more characters, `?` exactly one; the ACL
 * compares case-insensitively. Matched without regular expressions: a room's admins choose the
 * globs, and a glob of many `*` turned into a backtracking regex costs exponential time on a
 * non-matching name. This greedy walk (backing up only to the last `*`) is O(glob × name).
 */
export const serverGlobMatches = (glob: string, text: string): boolean => {
  const pattern = [...glob.toLowerCase()];
  const subject = [...text.toLowerCase()];
  let p = 0;
  let s = 0;
  let star = -1;
  let resume = 0;
  while (s < subject.length) {
    if (p < pattern.length && (pattern[p] === '?' || (pattern[p] !== '*' && pattern[p] === subject[s]))) {
      p += 1;
      s += 1;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p;
      resume = s;
      p += 1;
    } else if (star !== -1) {
      // Let the last `*` swallow one more character and retry from there.
      p = star + 1;
      resume += 1;
      s = resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p += 1;
  return p === pattern.length;
};

/**
 * Whether `serverName` may take part in a room whose ACL is `acl` (undefined: the room has no
 * `m.room.server_acl`, which allows everyone). In the spec's order: no ACL allows; an IP literal
 * is denied when `allow_ip_literals` is false; a `deny` match denies; an `allow` match allows;
 * anything else is denied.
 */
export const serverAclAllows = (acl: ServerAcl | undefined, serverName: string): boolean => {
  if (acl === undefined) return true;
  const host = serverNameHost(serverName);
  if (!acl.allowIpLiterals && isIpLiteralHost(host)) return false;
  if (acl.deny.some((glob) => serverGlobMatches(glob, host))) return false;
  return acl.allow.some((glob) => serverGlobMatches(glob, host));
};
