import { describe, expect, it } from 'vitest';
import { cidrContains, embeddedIpv4, isAddressAllowed, parseCidr, parseCidrList, parseIpAddress } from './addresses.ts';

const range = (text: string) => {
  const parsed = parseCidr(text);
  if (parsed === undefined) throw new Error(text);
  return parsed;
};
const ip = (text: string) => {
  const parsed = parseIpAddress(text);
  if (parsed === undefined) throw new Error(text);
  return parsed;
};

describe('IP addresses and CIDR ranges', () => {
  it('parses IPv4 and IPv6 forms', () => {
    expect(parseIpAddress('10.1.2.3')).toEqual({ family: 4, value: 0x0a010203n });
    expect(parseIpAddress('::1')).toEqual({ family: 6, value: 1n });
    expect(parseIpAddress('::')).toEqual({ family: 6, value: 0n });
    expect(parseIpAddress('2001:db8::ff00:42:8329')).toEqual({ family: 6, value: 0x20010db8000000000000ff0000428329n });
    expect(parseIpAddress('::ffff:192.0.2.1')).toEqual({ family: 6, value: 0xffffc0000201n });
    expect(parseIpAddress('fe80::1:2:3:4:5')).toEqual({ family: 6, value: 0xfe800000000000010002000300040005n });
  });

  it.each(['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4.5', '[::1]', '::1%eth0', 'example.org', '', '1:2:3:4:5:6:7:8:9', ':::'])('refuses %s', (text) => {
    expect(parseIpAddress(text)).toBeUndefined();
  });

  it('parses ranges, masking host bits, and refuses bad prefixes', () => {
    expect(range('10.1.2.3/8')).toEqual({ family: 4, base: 0x0a000000n, prefix: 8 });
    expect(range('192.0.2.1')).toEqual({ family: 4, base: 0xc0000201n, prefix: 32 });
    expect(range('fe80::/10')).toMatchObject({ family: 6, prefix: 10 });
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('::/129')).toBeUndefined();
    expect(parseCidr('10.0.0.0/')).toBeUndefined();
    expect(parseCidr('10.0.0.0/-1')).toBeUndefined();
    expect(parseCidrList(['10.0.0.0/8', ' ::1/128 '])).toMatchObject({ ok: true });
    expect(parseCidrList(['10.0.0.0/8', 'nope'])).toEqual({ ok: false, error: 'invalid CIDR range "nope"' });
  });

  it('tests containment per family', () => {
    expect(cidrContains(range('172.16.0.0/12'), ip('172.31.255.255'))).toBe(true);
    expect(cidrContains(range('172.16.0.0/12'), ip('172.32.0.0'))).toBe(false);
    expect(cidrContains(range('0.0.0.0/0'), ip('::1'))).toBe(false);
    expect(cidrContains(range('::/0'), ip('::1'))).toBe(true);
    expect(cidrContains(range('fc00::/7'), ip('fdff::1'))).toBe(true);
    expect(cidrContains(range('fc00::/7'), ip('fe00::1'))).toBe(false);
  });

  it('finds the IPv4 address in mapped, compatible, NAT64 and 6to4 addresses', () => {
    expect(embeddedIpv4(ip('::ffff:127.0.0.1'))).toEqual(ip('127.0.0.1'));
    expect(embeddedIpv4(ip('::ffff:7f00:1'))).toEqual(ip('127.0.0.1'));
    expect(embeddedIpv4(ip('::10.0.0.1'))).toEqual(ip('10.0.0.1'));
    expect(embeddedIpv4(ip('64:ff9b::c0a8:0101'))).toEqual(ip('192.168.1.1'));
    expect(embeddedIpv4(ip('2002:a9fe:0101::1'))).toEqual(ip('169.254.1.1'));
    expect(embeddedIpv4(ip('::1'))).toBeUndefined();
    expect(embeddedIpv4(ip('2001:db8::1'))).toBeUndefined();
    expect(embeddedIpv4(ip('10.0.0.1'))).toBeUndefined();
  });
});

describe('the federation address policy', () => {
  it.each([
    '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '224.0.0.1', '255.255.255.255', '198.18.0.1', '192.0.2.10', '::1', '::', 'fe80::1', 'fd12:3456::1', 'ff02::1',
    '2001:db8::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '64:ff9b::7f00:1', '2002:7f00:1::1',
    'not an address',
  ])('refuses %s by default', (address) => {
    expect(isAddressAllowed(address)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])('allows %s by default', (address) => {
    expect(isAddressAllowed(address)).toBe(true);
  });

  it('lets a whitelist open blocked ranges, for IPv4 and the IPv6 forms that reach them', () => {
    const policy = { allowed: [range('127.0.0.1/32'), range('fd00::/8')] };
    expect(isAddressAllowed('127.0.0.1', policy)).toBe(true);
    expect(isAddressAllowed('::ffff:127.0.0.1', policy)).toBe(true);
    expect(isAddressAllowed('127.0.0.2', policy)).toBe(false);
    expect(isAddressAllowed('fd00::5', policy)).toBe(true);
    expect(isAddressAllowed('::1', policy)).toBe(false);
  });

  it('takes a custom blocked list', () => {
    const policy = { blocked: [range('8.8.8.0/24')] };
    expect(isAddressAllowed('8.8.8.8', policy)).toBe(false);
    expect(isAddressAllowed('127.0.0.1', policy)).toBe(true);
  });
});
