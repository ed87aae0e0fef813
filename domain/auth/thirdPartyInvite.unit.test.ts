import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'vitest';
import type { JsonObject } from '../json.ts';
import { ROOM_VERSIONS } from '../roomVersions/index.ts';
import { createTestRoom } from '../../test/builders/index.ts';
import { expectAllowed as ok, expectDenied as no } from '../../test/builders/index.ts';
import type { EventSpec } from '../../test/builders/index.ts';

const alice = '@alice:a.example';
const bob = '@bob:b.example';
const carol = '@carol:c.example';


// An identity server key pair; the public key is published unpadded base64 as in the spec.
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const rawPublicKey = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64').replace(/=+$/, '');

/** `signed` for mxid/token, signed by the identity server (canonical JSON of mxid, sender, token). */
const signedBlock = (mxid: string, token: string, tamper = false): JsonObject => {
  const unsignedPart = { mxid, sender: alice, token };
  const canonical = `{"mxid":${JSON.stringify(mxid)},"sender":${JSON.stringify(alice)},"token":${JSON.stringify(token)}}`;
  const signature = sign(null, Buffer.from(tamper ? `${canonical} ` : canonical), privateKey).toString('base64').replace(/=+$/, '');
  return { ...unsignedPart, signatures: { 'id.example': { 'ed25519:0': signature } } };
};

const invite = (target: string, signed: JsonObject | undefined, sender = alice): EventSpec => ({
  type: 'm.room.member',
  sender,
  stateKey: target,
  content: { membership: 'invite', third_party_invite: signed === undefined ? { display_name: 'x' } : { display_name: 'x', signed } },
});

describe.each([...ROOM_VERSIONS.values()])('room version $id: third-party invites', (rules) => {
  const setUp = () => {
    const room = createTestRoom(rules, alice);
    ok(room.send({ type: 'm.room.member', sender: alice, stateKey: alice, content: { membership: 'join' } }));
    ok(room.send({ type: 'm.room.join_rules', sender: alice, stateKey: '', content: { join_rule: 'invite' } }));
    ok(room.send({ type: 'm.room.member', sender: alice, stateKey: carol, content: { membership: 'invite' } }));
    ok(room.send({ type: 'm.room.member', sender: carol, stateKey: carol, content: { membership: 'join' } }));
    ok(room.send({
      type: 'm.room.third_party_invite',
      sender: alice,
      stateKey: 'tok',
      content: { display_name: 'b...', key_validity_url: 'https://id.example/v', public_key: 'AAAA', public_keys: [{ public_key: rawPublicKey }] },
    }));
    return room;
  };

  it('turns a signed third-party invite into an invite', () => {
    const room = setUp();
    ok(room.send(invite(bob, signedBlock(bob, 'tok'))));
    ok(room.send({ type: 'm.room.member', sender: bob, stateKey: bob, content: { membership: 'join' } }));
  });

  it('denies malformed, mismatched or badly signed third-party invites', () => {
    const room = setUp();
    no(room.send(invite(bob, undefined)), /signed is missing/);
    no(room.send(invite(bob, { mxid: bob })), /mxid and token/);
    no(room.send(invite(bob, signedBlock(carol, 'tok'))), /does not match the state_key/);
    no(room.send(invite(bob, signedBlock(bob, 'other'))), /no m.room.third_party_invite/);
    no(room.send(invite(bob, signedBlock(bob, 'tok'), carol)), /sender differs/);
    no(room.send(invite(bob, signedBlock(bob, 'tok', true))), /no signature/);
    ok(room.send({ type: 'm.room.member', sender: alice, stateKey: bob, content: { membership: 'ban' } }));
    no(room.send(invite(bob, signedBlock(bob, 'tok'))), /target user is banned/);
  });
});
