/**
 * The sealed form of a room record (docs/erasure.md). A record that carries a PDU keeps its redacted
 * form in clear, so any reader can fold the room (state, auth, DAG) without the key, and carries the
 * PDU exactly as appended in `sealed`, encrypted with AES-256-GCM under the event's own data key:
 *
 *   { ...record, pdu: redactPdu(pdu), sealed: { v: 1, alg: 'A256GCM', kid, iv, ct } }
 *
 * `iv` (12 bytes) and `ct` (ciphertext then the 16-byte tag) are base64url; the additional
 * authenticated data binds the ciphertext to its key id and event id, so a ciphertext moved to
 * another record does not open. The log entry also carries the key id in the `strata-sealed`
 * header, so a reader can fetch a batch's keys without parsing any value.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto';
import { redactPdu, roomVersionRules, type JsonObject, type LogValue, type Pdu } from '../../domain/index.ts';

export const SEALED_HEADER = 'strata-sealed';
const ALGORITHM = 'A256GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface SealedContent {
  readonly v: 1;
  readonly alg: typeof ALGORITHM;
  readonly kid: string;
  readonly iv: string;
  readonly ct: string;
}

/** What sealing needs of a record: a PDU, its event id and room version. */
export interface SealableRecord {
  readonly eventId: string;
  readonly roomId: string;
  readonly roomVersion: string;
  readonly pdu: Pdu;
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Room records that carry a PDU of a known room version; anything else stays in clear. */
export const sealableRecord = (value: LogValue): SealableRecord | undefined => {
  // Any version of these records: sealing touches `pdu` only, and every version carries it there.
  if (!isObject(value) || typeof value.v !== 'number' || (value.type !== 'pdu.accepted' && value.type !== 'pdu.softFailed' && value.type !== 'pdu.outlier' && value.type !== 'membership.outOfBand' && value.type !== 'pdu.backfilled')) return undefined;
  if (typeof value.eventId !== 'string' || typeof value.roomId !== 'string' || typeof value.roomVersion !== 'string') return undefined;
  if (!isObject(value.pdu) || value.sealed !== undefined || roomVersionRules(value.roomVersion) === undefined) return undefined;
  return value as unknown as SealableRecord;
};

/**
 * A cipher made from raw key bytes checks and copies them on every call (≈ 9 µs against 1 µs for a
 * key object); each record is opened once per consumer, so the key object of a key the content-key
 * cache holds is made once.
 */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();
const keyObjectOf = (key: Uint8Array): KeyObject => {
  let object = keyObjects.get(key);
  if (object === undefined) keyObjects.set(key, (object = createSecretKey(key)));
  return object;
};

const aad = (kid: string, eventId: string): Buffer => Buffer.from(`strata.sealed.v1\n${kid}\n${eventId}`, 'utf8');

/**
 * Fresh random bytes, cut from a pool refilled 4 KiB at a time: every record takes three draws (key,
 * key id, IV), and a draw of its own costs a call into the generator each (≈ 7 µs under load). No
 * byte is handed out twice; each draw is a copy, so nothing later written to the pool reaches it.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let drawn = POOL_BYTES;
export const randomDraw = (size: number): Buffer => {
  if (size > POOL_BYTES) return randomFillSync(Buffer.allocUnsafe(size));
  if (drawn + size > POOL_BYTES) {
    randomFillSync(pool);
    drawn = 0;
  }
  const bytes = Buffer.from(pool.subarray(drawn, drawn + size));
  drawn += size;
  return bytes;
};

export const newDataKey = (): Uint8Array => randomDraw(32);
export const newKeyId = (): string => randomDraw(16).toString('base64url');

/** The record with its PDU redacted in clear and sealed whole under `key`. */
export const sealRecord = (value: LogValue, record: SealableRecord, kid: string, key: Uint8Array): LogValue => {
  const rules = roomVersionRules(record.roomVersion)!;
  const iv = randomDraw(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyObjectOf(key), iv);
  cipher.setAAD(aad(kid, record.eventId));
  const ct = Buffer.concat([cipher.update(JSON.stringify(record.pdu), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  const sealed: SealedContent = { v: 1, alg: ALGORITHM, kid, iv: iv.toString('base64url'), ct: ct.toString('base64url') };
  return { ...(value as JsonObject), pdu: redactPdu(record.pdu, rules.redaction), sealed } as unknown as LogValue;
};

/**
 * The record as a consumer reads it: with its PDU opened when `key` is given, or in its redacted
 * form when the key was destroyed. A ciphertext that does not authenticate throws: that is
 * corruption or tampering, never erasure.
 */
export const openRecord = (value: LogValue, key: Uint8Array | undefined): LogValue => {
  if (!isObject(value) || !isObject(value.sealed)) return value;
  const { sealed, ...rest } = value;
  if (key === undefined) return rest as LogValue;
  const { kid, iv, ct } = sealed as unknown as SealedContent;
  const bytes = Buffer.from(ct, 'base64url');
  if (bytes.length < TAG_BYTES) throw new Error(`sealed record ${String(value.eventId)}: ciphertext too short`);
  const decipher = createDecipheriv('aes-256-gcm', keyObjectOf(key), Buffer.from(iv, 'base64url'));
  decipher.setAAD(aad(kid, String(value.eventId)));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  const plain = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]);
  return { ...rest, pdu: JSON.parse(plain.toString('utf8')) as JsonObject } as LogValue;
};
