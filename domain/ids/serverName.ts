/**
 * Server names (appendices.md § Server Name):
 *   server_name = hostname [ ":" port ]; port = 1*5DIGIT
 *   hostname    = IPv4address / "[" IPv6address "]" / dns-name; dns-name = 1*255(DIGIT / ALPHA / "-" / ".")
 * Server names are case-sensitive, so they are kept exactly as written.
 */
import { err, ok, type Result } from './result.ts';

declare const serverNameBrand: unique symbol;
export type ServerName = string & { readonly [serverNameBrand]: true };

export interface ServerNameParts {
  /** The hostname as written; an IPv6 literal keeps its brackets. */
  readonly host: string;
  readonly port: number | undefined;
  readonly kind: 'dns' | 'ipv4' | 'ipv6';
}

const DNS_NAME = /^[A-Za-z0-9.-]{1,255}$/;
const IPV4_SHAPE = /^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/;
const PORT = /^[0-9]{1,5}$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

const isIpv4 = (host: string): boolean => IPV4_SHAPE.test(host) && host.split('.').every((octet) => Number(octet) <= 255);

/** RFC 3513 § 2.2 text forms: eight hex groups, `::` once for a run of zeros, an IPv4 tail. */
export const isIpv6Address = (text: string): boolean => {
  if (text.length < 2 || text.length > 45) return false;
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groupsOf = (half: string): string[] | undefined => (half === '' ? [] : half.split(':'));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === undefined || tail === undefined) return false;
  const all = [...head, ...tail];
  let count = 0;
  for (let i = 0; i < all.length; i++) {
    const group = all[i]!;
    if (HEX_GROUP.test(group)) count += 1;
    else if (i === all.length - 1 && isIpv4(group)) count += 2;
    else return false;
  }
  return halves.length === 2 ? count <= 7 : count === 8;
};

/** Splits and validates a server name; the parts are what federation resolution works from. */
export const parseServerNameParts = (text: string): Result<ServerNameParts> => {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return err(`server name ${JSON.stringify(text)}: unterminated IPv6 literal`);
    host = text.slice(0, close + 1);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return err(`server name ${JSON.stringify(text)}: junk after the IPv6 literal`);
      portText = rest.slice(1);
    }
    if (!isIpv6Address(host.slice(1, -1))) return err(`server name ${JSON.stringify(text)}: invalid IPv6 literal`);
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
    if (!DNS_NAME.test(host)) return err(`server name ${JSON.stringify(text)}: invalid hostname`);
  }
  if (portText !== undefined && !PORT.test(portText)) return err(`server name ${JSON.stringify(text)}: invalid port`);
  const kind = host.startsWith('[') ? 'ipv6' : isIpv4(host) ? 'ipv4' : 'dns';
  // Four dot-separated numbers are meant as an IPv4 literal, which must have octets 0–255.
  if (kind === 'dns' && IPV4_SHAPE.test(host)) return err(`server name ${JSON.stringify(text)}: IPv4 octet above 255`);
  return ok({ host, port: portText === undefined ? undefined : Number(portText), kind });
};

export const parseServerName = (text: string): Result<ServerName> => {
  const parts = parseServerNameParts(text);
  return parts.ok ? ok(text as ServerName) : parts;
};

export const isServerName = (text: string): text is ServerName => parseServerNameParts(text).ok;
