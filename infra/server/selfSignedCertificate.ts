/**
 * A self-signed X.509 certificate for the federation listener when the operator configured none.
 * Node can sign but has no certificate builder, so the certificate's DER is written here: an
 * ECDSA P-256 key (which every TLS stack accepts), subject and issuer `CN=<host>`, and the host as
 * subjectAltName (a DNS name or an IP address, as a TLS client matches it). No dependency and no
 * `openssl` binary are needed, so `npm start` works on a bare machine.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

export interface PemCredentials {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM PKCS#8 private key. */
  readonly key: string;
}

const length = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};

/** One DER tag-length-value; `tag` is the whole identifier octet (class, constructed bit, number). */
const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};

const sequence = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);

/** A non-negative INTEGER: a leading zero keeps a high first bit from reading as negative. */
const integer = (bytes: Buffer): Buffer => {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0 && (bytes[start + 1]! & 0x80) === 0) start += 1;
  const trimmed = bytes.subarray(start);
  return tlv(0x02, (trimmed[0]! & 0x80) === 0 ? trimmed : Buffer.concat([Buffer.from([0]), trimmed]));
};

const objectIdentifier = (dotted: string): Buffer => {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const groups: number[] = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) groups.unshift((rest & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
};

/** RFC 5280 § 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, both in seconds and `Z`. */
const time = (at: Date): Buffer => {
  const iso = at.toISOString();
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return at.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'));
};

/** An IP address's network-order bytes (4 for IPv4, 16 for IPv6, an embedded IPv4 tail included). */
export const ipAddressBytes = (address: string): Buffer => {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  if (!isIPv6(address)) throw new Error(`${address} is not an IP address`);
  const groupsOf = (text: string): number[] => {
    if (text === '') return [];
    return text.split(':').flatMap((group) => {
      if (!isIPv4(group)) return [parseInt(group, 16)];
      const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
      return [a * 256 + b, c * 256 + d];
    });
  };
  const [head = '', tail] = address.split('::');
  const front = groupsOf(head);
  const back = tail === undefined ? [] : groupsOf(tail);
  const groups = [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(group, 2 * i));
  return bytes;
};

const ECDSA_WITH_SHA256 = sequence(objectIdentifier('1.2.840.10045.4.3.2'));
const COMMON_NAME = '2.5.4.3';
const SUBJECT_ALT_NAME = '2.5.29.17';

export interface SelfSignedOptions {
  /** A DNS name or an IP address (IPv6 without brackets): the subject's CN and its subjectAltName. */
  readonly host: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Creates a fresh key and a certificate for it, signed by itself. */
export const createSelfSignedCertificate = ({ host, notBefore, notAfter }: SelfSignedOptions): PemCredentials => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const name = sequence(tlv(0x31, sequence(objectIdentifier(COMMON_NAME), tlv(0x0c, Buffer.from(host, 'utf8')))));
  const isIp = isIPv4(host) || isIPv6(host);
  // GeneralName: [7] iPAddress or [2] dNSName, both implicitly tagged primitives.
  const altName = isIp ? tlv(0x87, ipAddressBytes(host)) : tlv(0x82, Buffer.from(host, 'ascii'));
  const extensions = tlv(0xa3, sequence(sequence(objectIdentifier(SUBJECT_ALT_NAME), tlv(0x04, sequence(altName)))));
  // A positive serial of at most 20 octets (RFC 5280 § 4.1.2.2), random so that clients caching
  // certificates by issuer and serial never mix up two of ours.
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))), // v3, needed for extensions
    integer(serial),
    ECDSA_WITH_SHA256,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  // Node signs ECDSA as a DER Ecdsa-Sig-Value, which is what the certificate's BIT STRING holds.
  const signature = sign('sha256', tbs, privateKey);
  const der = sequence(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.from([0]), signature));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
};
