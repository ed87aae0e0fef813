import { describe, expect, it } from 'vitest';
import { serverGlobMatches, isIpLiteralHost, parseServerAcl, serverAclAllows, serverNameHost } from './serverAcl.ts';

const allows = (content: Parameters<typeof parseServerAcl>[0], serverName: string) => serverAclAllows(parseServerAcl(content), serverName);

describe('server ACLs', () => {
  // The spec's example m.room.server_acl (data/event-schemas/examples/m.room.server_acl.yaml).
  const example = { allow_ip_literals: false, allow: ['*'], deny: ['*.evil.com', 'evil.com'] };

  it('applies the spec\'s example: deny wins over allow, subdomains by glob, IP literals refused', () => {
    expect(allows(example, 'matrix.org')).toBe(true);
    expect(allows(example, 'evil.com')).toBe(false);
    expect(allows(example, 'sub.evil.com')).toBe(false);
    expect(allows(example, 'a.b.evil.com')).toBe(false);
    expect(allows(example, 'notevil.com')).toBe(true);
    expect(allows(example, '1.2.3.4')).toBe(false);
    expect(allows(example, '[2001:db8::1]')).toBe(false);
  });

  it('ignores the port: "evil.com, evil.com:8448 and evil.com:1234 would all match rules that apply to evil.com"', () => {
    for (const name of ['evil.com', 'evil.com:8448', 'evil.com:1234']) expect(allows(example, name)).toBe(false);
    expect(allows(example, '1.2.3.4:8448')).toBe(false);
    expect(allows(example, '[::1]:8448')).toBe(false);
    expect(allows({ allow: ['good.example'] }, 'good.example:8448')).toBe(true);
    expect(serverNameHost('[::1]:8448')).toBe('[::1]');
    expect(serverNameHost('[::1]')).toBe('[::1]');
    expect(serverNameHost('host.example')).toBe('host.example');
  });

  it('allows everyone when the room has no ACL, and denies everyone an ACL does not allow', () => {
    expect(serverAclAllows(undefined, 'anything.example')).toBe(true);
    // "Failing to provide an allow rule of some kind will prevent all servers from participating."
    expect(allows({ deny: [] }, 'anything.example')).toBe(false);
    expect(allows({}, 'anything.example')).toBe(false);
    expect(allows({ allow: ['*.example'] }, 'other.org')).toBe(false);
  });

  it('allows IP literals unless allow_ip_literals is false (defaulting to true when missing or not a boolean)', () => {
    expect(allows({ allow: ['*'] }, '10.0.0.1')).toBe(true);
    expect(allows({ allow: ['*'], allow_ip_literals: true }, '10.0.0.1')).toBe(true);
    expect(allows({ allow: ['*'], allow_ip_literals: 'false' }, '10.0.0.1')).toBe(true);
    expect(allows({ allow: ['*'], allow_ip_literals: false }, '10.0.0.1:80')).toBe(false);
    // Not a dotted quad: a (strange) host name, matched by the globs alone.
    expect(isIpLiteralHost('1.2.3')).toBe(false);
    expect(isIpLiteralHost('1.2.3.256')).toBe(false);
    expect(isIpLiteralHost('01.2.3.4')).toBe(false);
    expect(isIpLiteralHost('1.2.3.4.example')).toBe(false);
    expect(isIpLiteralHost('0.0.0.0')).toBe(true);
    expect(allows({ allow: ['*'], allow_ip_literals: false }, '1.2.3.4.example')).toBe(true);
  });

  it('reads malformed lists as Synapse: a non-array is empty, non-string entries are skipped', () => {
    expect(allows({ allow: '*' }, 'a.example')).toBe(false);
    expect(allows({ allow: ['*'], deny: 'a.example' }, 'a.example')).toBe(true);
    expect(allows({ allow: [1, null, { x: 1 }, 'a.example'] }, 'a.example')).toBe(true);
    expect(allows({ allow: ['*'], deny: [['a.example'], 'b.example'] }, 'a.example')).toBe(true);
    expect(allows({ allow: ['*'], deny: [['a.example'], 'b.example'] }, 'b.example')).toBe(false);
    // A redacted ACL keeps no content: nobody is allowed, as in Synapse.
    expect(allows({}, 'a.example')).toBe(false);
    expect(allows([] as never, 'a.example')).toBe(false);
  });

  it('matches globs case-insensitively with * and ?, anchored at both ends', () => {
    expect(serverGlobMatches('*.EVIL.com', 'sub.evil.COM')).toBe(true);
    expect(serverGlobMatches('ev?l.com', 'evil.com')).toBe(true);
    expect(serverGlobMatches('ev?l.com', 'eviil.com')).toBe(false);
    expect(serverGlobMatches('ev?l.com', 'evl.com')).toBe(false);
    expect(serverGlobMatches('*', '')).toBe(true);
    expect(serverGlobMatches('', '')).toBe(true);
    expect(serverGlobMatches('', 'a')).toBe(false);
    expect(serverGlobMatches('evil', 'evil.com')).toBe(false);
    expect(serverGlobMatches('evil.com', 'xevil.com')).toBe(false);
    expect(serverGlobMatches('a*b*c', 'aXXbYYc')).toBe(true);
    expect(serverGlobMatches('a*b*c', 'aXXbYY')).toBe(false);
    expect(serverGlobMatches('*a', 'aaa')).toBe(true);
    // Dots and other regex characters are literal.
    expect(serverGlobMatches('a.com', 'abcom')).toBe(false);
    expect(serverGlobMatches('[a]+', '[a]+')).toBe(true);
  });

  it('matches a glob of many stars against a long name in linear-ish time', () => {
    const glob = `${'*a'.repeat(40)}*b`;
    const started = performance.now();
    expect(serverGlobMatches(glob, 'a'.repeat(255))).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});
