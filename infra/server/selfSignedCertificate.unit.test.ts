import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSelfSignedCertificate, ipAddressBytes } from './selfSignedCertificate.ts';

const notBefore = new Date('2026-01-01T00:00:00Z');

describe('createSelfSignedCertificate', () => {
  it.each([
    ['127.0.0.1', /^IP Address:127\.0\.0\.1$/],
    // OpenSSL prints IPv6 addresses unabbreviated.
    ['::1', /^IP Address:(0:){7}1$/],
    ['example.org', /^DNS:example\.org$/],
  ])('makes a certificate for %s that X.509 parsers accept, signed by its own key', (host, altName) => {
    const { cert, key } = createSelfSignedCertificate({ host, notBefore, notAfter: new Date('2036-01-01T00:00:00Z') });
    const certificate = new X509Certificate(cert);
    expect(certificate.subject).toBe(`CN=${host}`);
    expect(certificate.issuer).toBe(`CN=${host}`);
    expect(certificate.subjectAltName).toMatch(altName);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.checkPrivateKey(createPrivateKey(key))).toBe(true);
    expect(new Date(certificate.validFrom).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(new Date(certificate.validTo).toISOString()).toBe('2036-01-01T00:00:00.000Z');
    expect(certificate.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(host === 'example.org' ? certificate.checkHost(host) : certificate.checkIP(host)).toBe(host);
  });

  it('writes dates from 2050 on as GeneralizedTime', () => {
    const { cert } = createSelfSignedCertificate({ host: 'example.org', notBefore, notAfter: new Date('2051-06-30T12:34:56Z') });
    expect(new Date(new X509Certificate(cert).validTo).toISOString()).toBe('2051-06-30T12:34:56.000Z');
  });

  it('gives every certificate a fresh key and serial', () => {
    const options = { host: 'example.org', notBefore, notAfter: new Date('2030-01-01T00:00:00Z') };
    const [a, b] = [new X509Certificate(createSelfSignedCertificate(options).cert), new X509Certificate(createSelfSignedCertificate(options).cert)];
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.fingerprint256).not.toBe(b.fingerprint256);
  });
});

describe('ipAddressBytes', () => {
  it.each([
    ['127.0.0.1', '7f000001'],
    ['::1', '00000000000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['fe80::1:2', 'fe800000000000000000000000010002'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
  ])('%s', (address, hex) => {
    expect(ipAddressBytes(address).toString('hex')).toBe(hex);
  });

  it('refuses what is not an address', () => {
    expect(() => ipAddressBytes('example.org')).toThrow('not an IP address');
  });
});
