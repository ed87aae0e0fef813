import type { JsonObject } from '../json.ts';
import { verifyJsonSignature } from '../events/index.ts';
import type { RoomEvent } from '../events/index.ts';
import type { StateLookup } from './decision.ts';
import { ALLOW, deny } from './decision.ts';
import type { AuthDecision } from './decision.ts';
import { membershipOf, objectField, ownField, stringField } from './content.ts';

/**
 * Rule 5.4.1 (4.3.1 in v1–v11 numbering): an invite that carries `content.third_party_invite`,
 * i.e. the conversion of an m.room.third_party_invite into a real invite.
 */
export const checkThirdPartyInvite = (event: RoomEvent, target: string, state: StateLookup): AuthDecision => {
  // "If target user is banned, reject."
  if (membershipOf(target, state) === 'ban') return deny('third-party invite: the target user is banned');
  // "If content.third_party_invite does not have a signed property, reject."
  const signed = objectField(objectField(event.content, 'third_party_invite'), 'signed');
  if (signed === undefined) return deny('third-party invite: content.third_party_invite.signed is missing');
  // "If signed does not have mxid and token properties, reject."
  const mxid = stringField(signed, 'mxid');
  const token = stringField(signed, 'token');
  if (mxid === undefined || token === undefined) return deny('third-party invite: signed needs mxid and token');
  // "If mxid does not match state_key, reject."
  if (mxid !== target) return deny('third-party invite: signed.mxid does not match the state_key');
  // "If there is no m.room.third_party_invite event in the current room state with state_key
  // matching token, reject."
  const invite = state('m.room.third_party_invite', token);
  if (invite === undefined) return deny('third-party invite: no m.room.third_party_invite for this token');
  // "If sender does not match sender of the m.room.third_party_invite, reject."
  if (invite.sender !== event.sender) return deny('third-party invite: sender differs from the m.room.third_party_invite sender');
  // "If any signature in signed matches any public key in the m.room.third_party_invite event,
  // allow. The public keys are in content … as a single public key in the public_key property [and]
  // a list of public keys in the public_keys property."
  if (signatureMatches(signed, publicKeysOf(invite.content))) return ALLOW;
  return deny('third-party invite: no signature in signed matches a public key of the m.room.third_party_invite');
};

const publicKeysOf = (content: JsonObject): string[] => {
  const keys: string[] = [];
  const single = stringField(content, 'public_key');
  if (single !== undefined) keys.push(single);
  const list = ownField(content, 'public_keys');
  if (Array.isArray(list)) {
    for (const entry of list) {
      const key = stringField(entry, 'public_key');
      if (key !== undefined) keys.push(key);
    }
  }
  return keys;
};

const signatureMatches = (signed: JsonObject, publicKeys: readonly string[]): boolean => {
  const signatures = objectField(signed, 'signatures');
  if (signatures === undefined) return false;
  for (const server of Object.keys(signatures)) {
    const byKeyId = objectField(signatures, server);
    if (byKeyId === undefined) continue;
    for (const keyId of Object.keys(byKeyId)) {
      for (const publicKey of publicKeys) {
        // Identity servers publish unpadded Base64; accept the URL-safe alphabet too.
        const standard = publicKey.replace(/-/g, '+').replace(/_/g, '/');
        try {
          if (verifyJsonSignature(signed, server, keyId, standard, { strict: false })) return true;
        } catch {
          // A key the crypto library refuses matches nothing.
        }
      }
    }
  }
  return false;
};
