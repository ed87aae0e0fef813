/**
 * The federation listener's certificate and key: the configured PEM files, checked at start-up so
 * that a wrong path or a mismatched pair stops the server naming the key; or, when none is
 * configured, a self-signed certificate kept in the data directory, so a restart serves the same
 * one (a peer that pinned or logged it sees no change).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { parseServerNameParts } from '../../domain/index.ts';
import type { FederationSettings } from '../config/index.ts';
import { createSelfSignedCertificate, type PemCredentials } from './selfSignedCertificate.ts';
import { StartupError } from './startupError.ts';

export const SELF_SIGNED_CERTIFICATE_FILE = 'federation_tls_self_signed.crt';
export const SELF_SIGNED_KEY_FILE = 'federation_tls_self_signed.key';
/** Ten years: the certificate only stands in until the operator configures a real one. */
const SELF_SIGNED_VALIDITY_MS = 3650 * 86_400_000;

export interface TlsCredentials extends PemCredentials {
  /** Where they came from, for the start-up log line. */
  readonly source: 'configured' | 'self-signed';
  readonly certificatePath: string;
}

/** The host a certificate for `serverName` must name: its hostname without port or IPv6 brackets. */
const certificateHost = (serverName: string): string => {
  const parts = parseServerNameParts(serverName);
  if (!parts.ok) throw new StartupError(`server_name: ${parts.error}`);
  return parts.value.kind === 'ipv6' ? parts.value.host.slice(1, -1) : parts.value.host;
};

const coversHost = (certificate: X509Certificate, host: string): boolean =>
  (isIPv4(host) || isIPv6(host) ? certificate.checkIP(host) : certificate.checkHost(host)) !== undefined;

/** Parses a PEM pair and checks the key signs for the certificate; a string result is the problem. */
const checkPair = (cert: string, key: string): X509Certificate | string => {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    return `not a PEM certificate (${(error as Error).message})`;
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(key))) return 'the private key does not belong to the certificate';
    // What the listener will do with them: a pair OpenSSL refuses would otherwise fail at listen time.
    createSecureContext({ cert, key });
  } catch (error) {
    return `the private key is not usable (${(error as Error).message})`;
  }
  return certificate;
};

const readSetting = async (key: string, file: string): Promise<string> => {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new StartupError(`${key}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
};

const configured = async (certificatePath: string, keyPath: string, now: Date, logger: Logger): Promise<TlsCredentials> => {
  const cert = await readSetting('federation.tls_certificate_path', certificatePath);
  const key = await readSetting('federation.tls_private_key_path', keyPath);
  const checked = checkPair(cert, key);
  if (typeof checked === 'string') {
    throw new StartupError(`federation.tls_certificate_path / federation.tls_private_key_path (${certificatePath}, ${keyPath}): ${checked}`);
  }
  if (new Date(checked.validTo).getTime() < now.getTime()) {
    // Served anyway, as Synapse does: refusing to start would take the client API down with it.
    logger.warn({ tls_certificate_path: certificatePath, valid_to: checked.validTo }, 'the federation TLS certificate has expired');
  }
  return { cert, key, source: 'configured', certificatePath };
};

const readIfPresent = async (file: string): Promise<string | undefined> => {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StartupError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
};

/** Writes through a temporary file, so a crash mid-write never leaves half a key to be reused. */
const writeAtomically = async (file: string, text: string, mode: number): Promise<void> => {
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, text, { mode });
  await rename(temporary, file);
};

const selfSigned = async (dataDir: string, serverName: string, now: Date, logger: Logger): Promise<TlsCredentials> => {
  const certificatePath = path.join(dataDir, SELF_SIGNED_CERTIFICATE_FILE);
  const keyPath = path.join(dataDir, SELF_SIGNED_KEY_FILE);
  const host = certificateHost(serverName);
  const [cert, key] = [await readIfPresent(certificatePath), await readIfPresent(keyPath)];
  if (cert !== undefined && key !== undefined) {
    const checked = checkPair(cert, key);
    if (typeof checked !== 'string' && coversHost(checked, host) && new Date(checked.validTo).getTime() > now.getTime()) {
      logger.warn({ tls_certificate_path: certificatePath },
        'federation listener: no certificate configured (federation.tls_certificate_path), serving the self-signed one; remote servers that verify certificates will refuse it');
      return { cert, key, source: 'self-signed', certificatePath };
    }
  }
  try {
    await mkdir(dataDir, { recursive: true });
    const created = createSelfSignedCertificate({ host, notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + SELF_SIGNED_VALIDITY_MS) });
    // The key first: a certificate on disk always has its key beside it.
    await writeAtomically(keyPath, created.key, 0o600);
    await writeAtomically(certificatePath, created.cert, 0o644);
    logger.warn({ tls_certificate_path: certificatePath },
      'federation listener: no certificate configured (federation.tls_certificate_path), created a self-signed one; remote servers that verify certificates will refuse it');
    return { ...created, source: 'self-signed', certificatePath };
  } catch (error) {
    throw new StartupError(`cannot store the self-signed federation certificate in ${dataDir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
};

/** The certificate and key the federation listener serves (see the module comment). */
export const loadTlsCredentials = (
  federation: Pick<FederationSettings, 'tlsCertificatePath' | 'tlsPrivateKeyPath'>,
  options: { readonly dataDir: string; readonly serverName: string; readonly logger: Logger; readonly now?: Date },
): Promise<TlsCredentials> => {
  const now = options.now ?? new Date();
  return federation.tlsCertificatePath !== undefined && federation.tlsPrivateKeyPath !== undefined
    ? configured(federation.tlsCertificatePath, federation.tlsPrivateKeyPath, now, options.logger)
    : selfSigned(options.dataDir, options.serverName, now, options.logger);
};
