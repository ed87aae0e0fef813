/**
 * Which IP addresses the federation client may connect to. A server name (or its `.well-known`,
 * or its SRV record) is chosen by whoever controls a remote domain, so without a check any Matrix
 * user could make this server send requests into its own network (SSRF). As Synapse does with
 * `ip_range_blacklist`, private, loopback, link-local and other special ranges are refused unless an
 * operator allows them (`ip_range_whitelist`); the check applies to the resolved address, never the
 * name, and to the IPv4 address an IPv6 one carries (mapped, NAT64, 6to4), which reaches the same
 * host.
 */
import { err, isIpv6Address, ok, type Result } from '../ids/index.ts';

export interface IpAddress {
  readonly family: 4 | 6;
  /** The address as an unsigned 32- or 128-bit integer. */
  readonly value: bigint;
}

export interface CidrRange {
  readonly family: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

const parseIpv4 = (text: string): bigint | undefined => {
  const match = IPV4.exec(text);
  if (match === null) return undefined;
  let value = 0n;
  for (let i = 1; i <= 4; i++) {
    const octet = match[i]!;
    // Leading zeros read as octal in some resolvers (inet_aton); refuse the ambiguity.
    if (octet.length > 1 && octet.startsWith('0')) return undefined;
    const n = Number(octet);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
};

const parseIpv6 = (text: string): bigint | undefined => {
  if (!isIpv6Address(text)) return undefined;
  const [head = '', tail] = text.split('::');
  const groupsOf = (half: string): number[] | undefined => {
    const groups: number[] = [];
    if (half === '') return groups;
    for (const part of half.split(':')) {
      if (part.includes('.')) {
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else groups.push(parseInt(part, 16));
    }
    return groups;
  };
  const first = groupsOf(head);
  const last = tail === undefined ? [] : groupsOf(tail);
  if (first === undefined || last === undefined) return undefined;
  const zeros = 8 - first.length - last.length;
  const groups = [...first, ...Array<number>(tail === undefined ? 0 : zeros).fill(0), ...last];
  if (groups.length !== 8) return undefined;
  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
};

/** Parses an IPv4 or IPv6 address (IPv6 without brackets, without a zone); undefined otherwise. */
export const parseIpAddress = (text: string): IpAddress | undefined => {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
};

/** Parses `address/prefix` (a bare address is a single-address range); undefined when invalid. */
export const parseCidr = (text: string): CidrRange | undefined => {
  const slash = text.indexOf('/');
  const address = parseIpAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === undefined) return undefined;
  const bits = address.family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > bits) return undefined;
  }
  const hostBits = BigInt(bits - prefix);
  return { family: address.family, base: (address.value >> hostBits) << hostBits, prefix };
};

export const cidrContains = (range: CidrRange, address: IpAddress): boolean => {
  if (range.family !== address.family) return false;
  const hostBits = BigInt((range.family === 4 ? 32 : 128) - range.prefix);
  return address.value >> hostBits === range.base >> hostBits;
};

const ranges = (texts: readonly string[]): readonly CidrRange[] =>
  texts.map((text) => {
    const range = parseCidr(text);
    if (range === undefined) throw new Error(`invalid CIDR range ${text}`);
    return range;
  });

/**
 * Synapse's default `ip_range_blacklist` (RFC 6890 special-purpose ranges: loopback, RFC 1918
 * private networks, shared address space, link-local, documentation, benchmarking, multicast,
 * unique-local, site-local), plus what it always adds (`0.0.0.0`, `::`) widened to "this network"
 * 0.0.0.0/8 and the reserved 240.0.0.0/4 (with the broadcast address), and IPv6's discard prefix.
 */
export const DEFAULT_BLOCKED_RANGES: readonly CidrRange[] = ranges([
  '0.0.0.0/8', '127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10',
  '192.0.0.0/24', '169.254.0.0/16', '192.88.99.0/24', '198.18.0.0/15', '192.0.2.0/24',
  '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4',
  '::/128', '::1/128', 'fe80::/10', 'fc00::/7', '2001:db8::/32', 'ff00::/8', 'fec0::/10', '100::/64',
]);

const IPV4_MAPPED = ranges(['::ffff:0:0/96'])[0]!;
const IPV4_COMPATIBLE = ranges(['::/96'])[0]!;
const NAT64 = ranges(['64:ff9b::/96'])[0]!;
const SIX_TO_FOUR = ranges(['2002::/16'])[0]!;

/**
 * The IPv4 address an IPv6 address reaches: IPv4-mapped (`::ffff:a.b.c.d`, which a dual-stack
 * socket connects over IPv4), IPv4-compatible (`::a.b.c.d`, deprecated), NAT64 (`64:ff9b::/96`) and
 * 6to4 (`2002:AABB:CCDD::/48`).
 */
export const embeddedIpv4 = (address: IpAddress): IpAddress | undefined => {
  if (address.family !== 6) return undefined;
  const low32 = address.value & 0xffffffffn;
  if (cidrContains(IPV4_MAPPED, address) || cidrContains(NAT64, address)) return { family: 4, value: low32 };
  // `::` and `::1` are IPv6's own unspecified and loopback addresses, which the blocked ranges name.
  if (cidrContains(IPV4_COMPATIBLE, address) && address.value > 1n) return { family: 4, value: low32 };
  if (cidrContains(SIX_TO_FOUR, address)) return { family: 4, value: (address.value >> 80n) & 0xffffffffn };
  return undefined;
};

export interface AddressPolicy {
  /** Refused ranges; DEFAULT_BLOCKED_RANGES when absent. */
  readonly blocked?: readonly CidrRange[];
  /** Ranges allowed even when blocked (Synapse's `ip_range_whitelist`). */
  readonly allowed?: readonly CidrRange[];
}

/**
 * Whether the client may connect to an address: allowed when it (or the IPv4 address it embeds) is
 * in an allowed range, refused when either is in a blocked range, allowed otherwise. An address
 * that does not parse is refused.
 */
export const isAddressAllowed = (text: string, policy: AddressPolicy = {}): boolean => {
  const address = parseIpAddress(text);
  if (address === undefined) return false;
  const forms = [address];
  const v4 = embeddedIpv4(address);
  if (v4 !== undefined) forms.push(v4);
  const inAny = (list: readonly CidrRange[]) => forms.some((form) => list.some((range) => cidrContains(range, form)));
  if (inAny(policy.allowed ?? [])) return true;
  return !inAny(policy.blocked ?? DEFAULT_BLOCKED_RANGES);
};

/** Parses a list of CIDR ranges, naming the first invalid one. */
export const parseCidrList = (texts: readonly string[]): Result<CidrRange[]> => {
  const parsed: CidrRange[] = [];
  for (const text of texts) {
    const range = parseCidr(text.trim());
    if (range === undefined) return err(`invalid CIDR range ${JSON.stringify(text)}`);
    parsed.push(range);
  }
  return ok(parsed);
};
