/**
 * The federation listener's certificate on disk: the self-signed one is made once and reused, and
 * made again when it could no longer serve (expired, for another host, damaged); configured files
 * are checked, and an expired one is served with a warning.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from './selfSignedCertificate.ts';
import { SELF_SIGNED_CERTIFICATE_FILE, SELF_SIGNED_KEY_FILE, loadTlsCredentials } from './tlsCredentials.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-tls-files-'));
  dirs.push(dir);
  return dir;
};

const recordingLogger = () => {
  const messages: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => { messages.push((JSON.parse(line) as { msg: string }).msg); } });
  return { logger, messages };
};

const DAY = 86_400_000;

describe('loadTlsCredentials, self-signed', () => {
  it('makes the certificate once for the server name\'s host and reuses it', async () => {
    const dataDir = await tempDir();
    const { logger, messages } = recordingLogger();
    const first = await loadTlsCredentials({}, { dataDir, serverName: '127.0.0.1:8448', logger });
    expect(first).toMatchObject({ source: 'self-signed', certificatePath: path.join(dataDir, SELF_SIGNED_CERTIFICATE_FILE) });
    expect(new X509Certificate(first.cert).checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(await readFile(path.join(dataDir, SELF_SIGNED_KEY_FILE), 'utf8')).toBe(first.key);
    const second = await loadTlsCredentials({}, { dataDir, serverName: '127.0.0.1:8448', logger });
    expect(second.cert).toBe(first.cert);
    expect(messages).toEqual([expect.stringContaining('created a self-signed one'), expect.stringContaining('serving the self-signed one')]);
  });

  it('names an IPv6 host without brackets and a DNS host as a DNS name', async () => {
    const { logger } = recordingLogger();
    const v6 = await loadTlsCredentials({}, { dataDir: await tempDir(), serverName: '[::1]:8448', logger });
    expect(new X509Certificate(v6.cert).checkIP('::1')).toBeDefined();
    const dns = await loadTlsCredentials({}, { dataDir: await tempDir(), serverName: 'example.org', logger });
    expect(new X509Certificate(dns.cert).checkHost('example.org')).toBe('example.org');
  });

  it('makes a new one when the stored one has expired, names another host, or is damaged', async () => {
    const dataDir = await tempDir();
    const { logger } = recordingLogger();
    const original = await loadTlsCredentials({}, { dataDir, serverName: 'example.org', logger });
    const later = await loadTlsCredentials({}, { dataDir, serverName: 'example.org', logger, now: new Date(Date.now() + 3651 * DAY) });
    expect(later.cert).not.toBe(original.cert);
    const otherHost = await loadTlsCredentials({}, { dataDir, serverName: 'other.example', logger });
    expect(new X509Certificate(otherHost.cert).checkHost('other.example')).toBe('other.example');
    await writeFile(path.join(dataDir, SELF_SIGNED_KEY_FILE), 'not a key');
    const repaired = await loadTlsCredentials({}, { dataDir, serverName: 'other.example', logger });
    expect(repaired.cert).not.toBe(otherHost.cert);
    expect(await readFile(path.join(dataDir, SELF_SIGNED_KEY_FILE), 'utf8')).toBe(repaired.key);
  });

  it('creates a data directory that does not exist yet', async () => {
    const dataDir = path.join(await tempDir(), 'not', 'yet');
    const { logger } = recordingLogger();
    await expect(loadTlsCredentials({}, { dataDir, serverName: 'example.org', logger })).resolves.toMatchObject({ source: 'self-signed' });
  });
});

describe('loadTlsCredentials, configured', () => {
  const write = async (dir: string, name: string, text: string): Promise<string> => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return file;
  };

  it('serves an expired certificate with a warning rather than refusing to start', async () => {
    const dir = await tempDir();
    const { cert, key } = createSelfSignedCertificate({ host: 'example.org', notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
    const { logger, messages } = recordingLogger();
    const loaded = await loadTlsCredentials(
      { tlsCertificatePath: await write(dir, 'c.pem', cert), tlsPrivateKeyPath: await write(dir, 'k.pem', key) },
      { dataDir: dir, serverName: 'example.org', logger },
    );
    expect(loaded).toMatchObject({ source: 'configured', cert, key });
    expect(messages).toEqual(['the federation TLS certificate has expired']);
  });

  it('refuses files that are not a certificate and its key, naming the setting', async () => {
    const dir = await tempDir();
    const { cert } = createSelfSignedCertificate({ host: 'example.org', notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + DAY) });
    const { logger } = recordingLogger();
    const options = { dataDir: dir, serverName: 'example.org', logger };
    const certificatePath = await write(dir, 'c.pem', cert);
    await expect(loadTlsCredentials({ tlsCertificatePath: await write(dir, 'junk.pem', 'hello'), tlsPrivateKeyPath: await write(dir, 'k0.pem', 'x') }, options))
      .rejects.toThrow(/federation\.tls_certificate_path \/ federation\.tls_private_key_path .*not a PEM certificate/);
    await expect(loadTlsCredentials({ tlsCertificatePath: certificatePath, tlsPrivateKeyPath: await write(dir, 'k1.pem', 'not a key') }, options))
      .rejects.toThrow('the private key is not usable');
    await expect(loadTlsCredentials({ tlsCertificatePath: certificatePath, tlsPrivateKeyPath: path.join(dir, 'absent.pem') }, options))
      .rejects.toThrow(/^federation\.tls_private_key_path: cannot read .*absent\.pem: ENOENT$/);
  });
});
