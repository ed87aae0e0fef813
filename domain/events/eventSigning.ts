/**
 * Hashing and signing events (server-server-api.md § Adding hashes and signatures to outgoing
 * events, § Validating hashes and signatures on received events): the signature covers the
 * redacted event, so it still verifies after a redaction; the content hash covers the rest.
 */
import { isJsonObject } from '../json.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { contentHashBase64, strictnessOf } from './hashes.ts';
import type { Pdu } from './pdu.ts';
import { redactPdu } from './redaction.ts';
import { signatureOf, verifyJsonSignature, type SigningKey } from './signing.ts';

/**
 * Sets `hashes.sha256` to the content hash, then signs the redacted form and copies the signature
 * back into the full event. Returns a new object; existing signatures from other servers are kept.
 * Throws CanonicalJsonError when the event has no canonical form for its room version.
 */
export const hashAndSignEvent = (pdu: Pdu, rules: RoomVersionRules, key: SigningKey): Pdu => {
  const previousHashes = isJsonObject(pdu.hashes) ? pdu.hashes : {};
  const hashed: Pdu = { ...pdu, hashes: { ...previousHashes, sha256: contentHashBase64(pdu, rules) } };
  const signature = signatureOf(redactPdu(hashed, rules.redaction), key, strictnessOf(rules));
  const signatures = isJsonObject(pdu.signatures) ? pdu.signatures : {};
  const previous = signatures[key.serverName];
  const ours = isJsonObject(previous) ? previous : {};
  return { ...hashed, signatures: { ...signatures, [key.serverName]: { ...ours, [key.keyId]: signature } } };
};

/**
 * Whether the event carries a valid signature by `serverName` with the given key. The event is
 * redacted first, so this holds for the full event and for a redacted copy alike.
 */
export const verifyEventSignature = (
  pdu: Pdu,
  rules: RoomVersionRules,
  serverName: string,
  keyId: string,
  publicKeyBase64: string,
): boolean => verifyJsonSignature(redactPdu(pdu, rules.redaction), serverName, keyId, publicKeyBase64, strictnessOf(rules));

/**
 * The servers whose signatures an event needs: the sender's server and, in v1–v2 rooms (event ids
 * chosen by the origin), the server named in the event id when it differs. Third-party invites
 * and `join_authorised_via_users_server` add requirements that the auth rules check.
 */
export const serversRequiredToSign = (sender: string, eventId: string, rules: RoomVersionRules): readonly string[] => {
  const senderServer = sender.slice(sender.indexOf(':') + 1);
  if (rules.eventFormat.eventIdFormat !== 'originChosen') return [senderServer];
  const colon = eventId.indexOf(':');
  const eventServer = colon < 0 ? undefined : eventId.slice(colon + 1);
  return eventServer === undefined || eventServer === senderServer ? [senderServer] : [senderServer, eventServer];
};

/**
 * Adds this server's signature to an event another server built and hashed (an invite we are
 * asked to co-sign, a join the resident server countersigns), keeping its hashes as they are.
 */
export const addEventSignature = (pdu: Pdu, rules: RoomVersionRules, key: SigningKey): Pdu => {
  const signature = signatureOf(redactPdu(pdu, rules.redaction), key, strictnessOf(rules));
  const signatures = isJsonObject(pdu.signatures) ? pdu.signatures : {};
  const previous = signatures[key.serverName];
  const ours = isJsonObject(previous) ? previous : {};
  return { ...pdu, signatures: { ...signatures, [key.serverName]: { ...ours, [key.keyId]: signature } } };
};
