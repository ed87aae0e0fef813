/**
 * The KeyRing adapter: other servers' verify keys, fetched from `/_matrix/key/v2/server` on the
 * server itself, or through the configured notaries (`/_matrix/key/v2/query/{serverName}`) when it
 * does not answer usefully; verified (domain/federation/keys.ts), kept in PostgreSQL (the table
 * `remote_server_keys`, which outlives restarts) and in a bounded memory cache.
 *
 * The outbound federation client is injected as a plain `(serverName, path) => JSON` function:
 * server discovery, TLS and the rules on which addresses may be reached are its business.
 */
import {
  BoundedMap, isJsonObject, isServerName, keyValidAt, signaturesFrom, OWN_KEYS_VALIDITY_MS, verifyNotarisedServerKeys, verifyServerKeys,
  type JsonObject, type KeyRing, type KeysVerdict, type OldVerifyKey, type SigningKey, type SqlDatabase,
  type TrustedKeyServer, type VerifiedServerKeys, type VerifyKeyAnswer, type VerifyKeyQuery,
} from '../../../domain/index.ts';

/** GET `path` on `serverName` over federation, resolving with the JSON object it answered. */
export type FetchFederationJson = (serverName: string, path: string) => Promise<JsonObject>;

export interface RemoteKeyRingOptions {
  readonly db: SqlDatabase;
  readonly fetchJson: FetchFederationJson;
  /** Our own keys: our own name is answered from these, never fetched. */
  readonly ownKeys: () => { readonly current: SigningKey; readonly old: readonly OldVerifyKey[] };
  /**
   * `federation.trusted_key_servers`; none by default. A notary given without its verify keys is
   * trusted with the keys it publishes itself, fetched as any server's (Synapse does the same).
   */
  readonly trustedKeyServers?: readonly NotaryServer[];
  readonly now?: () => number;
  /**
   * How long after a fetch for a server another one is refused (default 1 minute): "Requesting
   * servers should limit how frequently they query for certificates" (keys_server.yaml), and a
   * server that just failed, or just answered without the key, will not do better at once.
   */
  readonly minFetchIntervalMs?: number;
  /** Keys held in memory (default 10,000). */
  readonly memoryCapacity?: number;
  readonly logger?: { warn(details: object, message: string): void };
}

/** Rows kept per server: a server minting key ids on every fetch cannot fill the table. */
const MAX_KEYS_PER_SERVER = 256;
/** Documents a notary answer may relay for one server, and we relay as a notary. */
const MAX_DOCUMENTS_PER_SERVER = 8;
/** Servers whose last fetch is remembered for rate limiting. */
const MAX_REMEMBERED_FETCHES = 10_000;
const MAX_KEY_ID_BYTES = 255;

export const ensureRemoteServerKeysSchema = async (db: SqlDatabase): Promise<void> => {
  // valid_until_ts: until when the key counts — the document's valid_until_ts capped at 7 days
  // after fetched_ts, or the key's expired_ts for old keys. document: the key document as its
  // server signed it (plus any notary signatures), which we serve again as a notary.
  await db.query(`CREATE TABLE IF NOT EXISTS remote_server_keys (
    server_name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    valid_until_ts BIGINT NOT NULL,
    expired_ts BIGINT,
    fetched_ts BIGINT NOT NULL,
    fetched_from TEXT NOT NULL,
    document_valid_until_ts BIGINT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (server_name, key_id)
  )`);
};

export interface NotaryServer {
  readonly serverName: string;
  /** Key id → unpadded Base64 ed25519 public key; unset ⇒ fetched from the notary. */
  readonly verifyKeys?: Readonly<Record<string, string>>;
}

/** Notary signatures looked at per document: a notary signs with one key, maybe two in a rotation. */
const MAX_NOTARY_SIGNATURES = 4;

interface CachedKey {
  readonly publicKeyBase64: string;
  readonly validUntilTs: number;
}

interface KeyRow {
  key_id: string;
  public_key: string;
  valid_until_ts: string | number;
  document_valid_until_ts: string | number;
  document: string;
}

interface FetchRecord {
  readonly at: number;
  readonly ok: boolean;
  readonly detail: string;
}

const cacheKey = (serverName: string, keyId: string): string => `${serverName} ${keyId}`;

export const createRemoteKeyRing = (options: RemoteKeyRingOptions): KeyRing => {
  const { db, fetchJson } = options;
  const now = options.now ?? Date.now;
  const minFetchIntervalMs = options.minFetchIntervalMs ?? 60_000;
  const notaries = options.trustedKeyServers ?? [];
  const memory = new BoundedMap<string, CachedKey>(options.memoryCapacity ?? 10_000);
  const lastFetch = new BoundedMap<string, FetchRecord>(MAX_REMEMBERED_FETCHES);
  const inFlight = new Map<string, Promise<FetchRecord>>();

  const store = async (verified: VerifiedServerKeys, from: string, fetchedTs: number): Promise<void> => {
    const document = JSON.stringify(verified.document);
    await db.transaction(async (tx) => {
      for (const key of verified.keys) {
        // A document valid for longer replaces what an earlier one said; an older relayed copy
        // (a notary's stale cache) never overwrites a fresher one.
        await tx.query(
          `INSERT INTO remote_server_keys
             (server_name, key_id, public_key, valid_until_ts, expired_ts, fetched_ts, fetched_from, document_valid_until_ts, document)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (server_name, key_id) DO UPDATE SET
             public_key = EXCLUDED.public_key, valid_until_ts = EXCLUDED.valid_until_ts, expired_ts = EXCLUDED.expired_ts,
             fetched_ts = EXCLUDED.fetched_ts, fetched_from = EXCLUDED.fetched_from,
             document_valid_until_ts = EXCLUDED.document_valid_until_ts, document = EXCLUDED.document
           WHERE remote_server_keys.document_valid_until_ts <= EXCLUDED.document_valid_until_ts`,
          [verified.serverName, key.keyId, key.publicKeyBase64, key.validUntilTs, key.expiredTs ?? null, fetchedTs, from,
            verified.validUntilTs, document],
        );
      }
      await tx.query(
        `DELETE FROM remote_server_keys WHERE server_name = $1 AND key_id NOT IN (
           SELECT key_id FROM remote_server_keys WHERE server_name = $1 ORDER BY fetched_ts DESC, key_id LIMIT ${MAX_KEYS_PER_SERVER})`,
        [verified.serverName],
      );
    });
    // Read back rather than trust the document: the upsert may have kept a fresher row.
    for (const key of verified.keys) memory.delete(cacheKey(verified.serverName, key.keyId));
  };

  const lookup = async (serverName: string, keyId: string): Promise<CachedKey | undefined> => {
    const cached = memory.touch(cacheKey(serverName, keyId));
    if (cached !== undefined) return cached;
    const { rows } = await db.query<KeyRow>(
      'SELECT key_id, public_key, valid_until_ts, document_valid_until_ts, document FROM remote_server_keys WHERE server_name = $1 AND key_id = $2',
      [serverName, keyId],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    const key = { publicKeyBase64: row.public_key, validUntilTs: Number(row.valid_until_ts) };
    memory.set(cacheKey(serverName, keyId), key);
    return key;
  };

  /** Whether a verified document gives `keyId` (any key when undefined) valid until `validAt`. */
  const satisfies = (verified: VerifiedServerKeys, keyId: string | undefined, validAt: number): boolean =>
    verified.keys.some((key) => (keyId === undefined || key.keyId === keyId) && keyValidAt(key, validAt));

  const fetchDirect = async (serverName: string): Promise<KeysVerdict> => {
    try {
      const document = await fetchJson(serverName, '/_matrix/key/v2/server');
      return verifyServerKeys(document, serverName, now());
    } catch (error) {
      return { ok: false, reason: `fetching its keys failed: ${(error as Error).message}` };
    }
  };

  /** The notary's configured keys, or those of its keys that signed `document`, fetched as any server's. */
  const notaryKeys = async (notary: NotaryServer, document: JsonObject): Promise<TrustedKeyServer> => {
    if (notary.verifyKeys !== undefined) return { serverName: notary.serverName, verifyKeys: notary.verifyKeys };
    const verifyKeys: Record<string, string> = {};
    for (const keyId of [...signaturesFrom(document, notary.serverName).keys()].slice(0, MAX_NOTARY_SIGNATURES)) {
      const answer = await verifyKey({ serverName: notary.serverName, keyId, validAt: now() });
      if (answer.found) verifyKeys[keyId] = answer.publicKeyBase64;
    }
    return { serverName: notary.serverName, verifyKeys };
  };

  const fetchFromNotary = async (notary: NotaryServer, serverName: string, minimum: number): Promise<VerifiedServerKeys[] | string> => {
    let answer: JsonObject;
    try {
      answer = await fetchJson(notary.serverName,
        `/_matrix/key/v2/query/${encodeURIComponent(serverName)}?minimum_valid_until_ts=${minimum}`);
    } catch (error) {
      return `notary ${notary.serverName}: ${(error as Error).message}`;
    }
    const documents = answer.server_keys;
    if (!Array.isArray(documents)) return `notary ${notary.serverName}: server_keys is not an array`;
    const verified: VerifiedServerKeys[] = [];
    const problems: string[] = [];
    for (const document of documents.slice(0, MAX_DOCUMENTS_PER_SERVER)) {
      // A notary answering for other servers than the one asked about is ignored, not trusted.
      if (!isJsonObject(document) || document.server_name !== serverName) continue;
      const verdict = verifyNotarisedServerKeys(document, serverName, await notaryKeys(notary, document), now());
      if (verdict.ok) verified.push(verdict.keys);
      else problems.push(verdict.reason);
    }
    return verified.length > 0 ? verified : `notary ${notary.serverName}: ${problems[0] ?? 'no key document for the server'}`;
  };

  /**
   * One fetch round for a server: the server itself, then each notary until one gives what is
   * needed (`keyId` valid until `validAt`); everything verified along the way is stored.
   */
  const fetchRound = async (serverName: string, keyId: string | undefined, validAt: number): Promise<FetchRecord> => {
    const problems: string[] = [];
    let stored = false;
    const direct = await fetchDirect(serverName);
    if (direct.ok) {
      await store(direct.keys, serverName, now());
      stored = true;
      if (satisfies(direct.keys, keyId, validAt)) return { at: now(), ok: true, detail: 'fetched from the server' };
      problems.push(`${serverName} does not publish the key valid until ${validAt}`);
    } else {
      problems.push(`${serverName}: ${direct.reason}`);
    }
    for (const notary of notaries) {
      // A notary cannot vouch for itself: its keys are what is being fetched.
      if (notary.serverName === serverName) continue;
      const result = await fetchFromNotary(notary, serverName, validAt);
      if (typeof result === 'string') {
        problems.push(result);
        continue;
      }
      for (const verified of result) await store(verified, notary.serverName, now());
      stored = true;
      if (result.some((verified) => satisfies(verified, keyId, validAt))) {
        return { at: now(), ok: true, detail: `fetched through notary ${notary.serverName}` };
      }
    }
    const detail = problems.join('; ');
    options.logger?.warn({ server_name: serverName, key_id: keyId, problems }, 'fetching server keys gave no usable key');
    return { at: now(), ok: stored, detail };
  };

  /** Runs a fetch round unless one ran for the server within the interval (or is running). */
  const refresh = async (serverName: string, keyId: string | undefined, validAt: number): Promise<FetchRecord> => {
    const running = inFlight.get(serverName);
    if (running !== undefined) return running;
    const last = lastFetch.get(serverName);
    if (last !== undefined && now() - last.at < minFetchIntervalMs) return last;
    const round = fetchRound(serverName, keyId, validAt)
      .catch((error: unknown): FetchRecord => ({ at: now(), ok: false, detail: `storing keys failed: ${(error as Error).message}` }))
      .then((record) => {
        lastFetch.set(serverName, record);
        return record;
      })
      .finally(() => inFlight.delete(serverName));
    inFlight.set(serverName, round);
    return round;
  };

  const ownKey = (keyId: string, validAt: number): VerifyKeyAnswer => {
    const { current, old } = options.ownKeys();
    if (keyId === current.keyId) return { found: true, publicKeyBase64: current.publicKeyBase64, validUntilTs: now() + OWN_KEYS_VALIDITY_MS };
    const oldKey = old.find((key) => key.keyId === keyId);
    if (oldKey === undefined) return { found: false, reason: 'unknown_key', detail: `${keyId} is not one of our keys` };
    if (!keyValidAt({ validUntilTs: oldKey.expiredTs }, validAt)) {
      return { found: false, reason: 'expired', detail: `our key ${keyId} expired at ${oldKey.expiredTs}` };
    }
    return { found: true, publicKeyBase64: oldKey.publicKeyBase64, validUntilTs: oldKey.expiredTs };
  };

  const verifyKey = async ({ serverName, keyId, validAt }: VerifyKeyQuery): Promise<VerifyKeyAnswer> => {
    if (!isServerName(serverName)) return { found: false, reason: 'unknown_key', detail: 'not a server name' };
    if (Buffer.byteLength(keyId, 'utf8') > MAX_KEY_ID_BYTES || !keyId.startsWith('ed25519:')) {
      return { found: false, reason: 'unknown_key', detail: 'not an ed25519 key id' };
    }
    if (serverName === options.ownKeys().current.serverName) return ownKey(keyId, validAt);
    const known = await lookup(serverName, keyId);
    if (known !== undefined && keyValidAt(known, validAt)) return { found: true, ...known };
    const fetched = await refresh(serverName, keyId, validAt);
    const after = await lookup(serverName, keyId);
    if (after !== undefined && keyValidAt(after, validAt)) return { found: true, ...after };
    if (after !== undefined) {
      return { found: false, reason: 'expired', detail: `${serverName}'s key ${keyId} is valid until ${after.validUntilTs}, not ${validAt}` };
    }
    return fetched.ok
      ? { found: false, reason: 'unknown_key', detail: `${serverName} does not publish ${keyId}` }
      : { found: false, reason: 'unreachable', detail: fetched.detail };
  };

  const documentsOf = async (serverName: string): Promise<KeyRow[]> =>
    (await db.query<KeyRow>(
      `SELECT key_id, public_key, valid_until_ts, document_valid_until_ts, document FROM remote_server_keys
       WHERE server_name = $1 ORDER BY document_valid_until_ts DESC, key_id`,
      [serverName],
    )).rows;

  const serverKeyDocuments = async (serverName: string, keyIds: readonly string[], minimumValidUntilTs: number): Promise<readonly JsonObject[]> => {
    if (!isServerName(serverName)) return [];
    let rows = await documentsOf(serverName);
    // Compared with the document's own valid_until_ts: that is what the asking server will see.
    const stale = rows.length === 0
      || keyIds.some((keyId) => !rows.some((row) => row.key_id === keyId))
      || Math.max(...rows.map((row) => Number(row.document_valid_until_ts))) < minimumValidUntilTs;
    if (stale) {
      await refresh(serverName, keyIds[0], minimumValidUntilTs);
      rows = await documentsOf(serverName);
    }
    // "If the server fails to respond to this request, intermediate notary servers should continue
    // to return the last response they received from the server" (keys_server.yaml): whatever is
    // cached is returned, fresh or not.
    const documents = [...new Set(rows.map((row) => row.document))].slice(0, MAX_DOCUMENTS_PER_SERVER);
    return documents.map((text) => JSON.parse(text) as JsonObject);
  };

  return { verifyKey, serverKeyDocuments };
};
