/**
 * Checks for the two address-like config values: the Matrix server name and the listen address.
 * Each returns a problem description (for the config error) or the parsed value.
 */
import { isIPv6 } from 'node:net';
import { parseServerNameParts } from '../../domain/index.ts';

export interface ListenAddress {
  /** Host as given, without IPv6 brackets (what `server.listen` expects). */
  readonly host: string;
  readonly port: number;
}

const DOTTED_QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const DNS_NAME = /^[A-Za-z0-9.-]{1,255}$/;

const isValidIpv4 = (host: string): boolean =>
  DOTTED_QUAD.test(host) && host.split('.').every((part) => Number(part) <= 255);

const portProblem = (port: string): string | undefined => {
  if (!/^\d{1,5}$/.test(port)) return `port "${port}" is not a number`;
  if (Number(port) > 65535) return `port ${port} is out of range`;
  return undefined;
};

/** Splits `host[:port]` where an IPv6 host is in brackets. */
const splitHostPort = (value: string): { host: string; bracketed: boolean; port?: string } | string => {
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return 'an IPv6 literal must end with "]"';
    const rest = value.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return `unexpected "${rest}" after the IPv6 literal`;
    return { host: value.slice(1, close), bracketed: true, ...(rest === '' ? {} : { port: rest.slice(1) }) };
  }
  const colon = value.indexOf(':');
  if (colon < 0) return { host: value, bracketed: false };
  return { host: value.slice(0, colon), bracketed: false, port: value.slice(colon + 1) };
};

/**
 * Problem with this server's own name, or undefined when it is valid: the domain's grammar check
 * (appendices § Server Name), plus a port that a socket can actually use.
 */
export const serverNameProblem = (value: string): string | undefined => {
  const parts = parseServerNameParts(value);
  if (!parts.ok) return parts.error;
  return parts.value.port !== undefined && parts.value.port > 65535 ? `port ${parts.value.port} is out of range` : undefined;
};

/** Parses `host:port` (IPv6 hosts in brackets); a string result is the problem. */
export const parseListenAddress = (value: string): ListenAddress | string => {
  const parts = splitHostPort(value);
  if (typeof parts === 'string') return parts;
  const { host, bracketed, port } = parts;
  if (port === undefined) return `expected host:port (IPv6 in brackets), got "${value}"`;
  if (bracketed ? !isIPv6(host) : !(isValidIpv4(host) || (DNS_NAME.test(host) && !DOTTED_QUAD.test(host)))) {
    return `"${host}" is not a host name or IP address${bracketed ? '' : ' (put IPv6 addresses in brackets)'}`;
  }
  const problem = portProblem(port);
  return problem ?? { host, port: Number(port) };
};
