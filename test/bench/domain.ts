/**
 * `npm run bench domain`: event hashing+signing and signature verification, each beside raw
 * node:crypto ed25519 on the same machine (the ceiling), and state resolution of a 10,000-member
 * room with 100 conflicting forks.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import {
  buildPdu,
  canonicalJsonBytes,
  redactPdu,
  resolveState,
  roomVersionRules,
  signingKeyFromSeed,
  verifyEventSignature,
  type RoomVersionRules,
} from '../../domain/index.ts';
import { buildLargeConflictedRoom, FORKS, MEMBERS } from '../fixtures/index.ts';
import { formatRate, measureRate, printTable } from './measure.ts';

const rules = roomVersionRules('12') as RoomVersionRules;
const key = signingKeyFromSeed('bench.test', 'ed25519:1', new Uint8Array(32).fill(7));

const proto = (i: number) => ({
  roomId: '!abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  sender: '@alice:bench.test',
  type: 'm.room.message',
  content: { msgtype: 'm.text', body: `message number ${i} with a realistic amount of text in it` },
  originServerTs: 1_700_000_000_000 + i,
  depth: 100 + i,
  prevEventIds: ['$Jv9Fq6wlkw9Hh4cWeNGpW7Wu5BxTFTvgqMxTe45UzGw'],
  authEventIds: ['$aZ3dYTaLmoLqcRybTRMe0Kc2OwyHuYNqA2SD5AiHqaQ', '$jJdQUI9x9XOoCUCZyjGnyBGLXm1kgo3hp6u7kuMUdn4'],
});

export const run = async (): Promise<void> => {
  let n = 0;
  const built = buildPdu(proto(0), rules, key).pdu;
  const signingInput = canonicalJsonBytes(redactPdu(built, rules.redaction), { strict: true });
  const raw = generateKeyPairSync('ed25519');
  const rawSignature = sign(null, signingInput, raw.privateKey);

  process.stderr.write('measuring event hashing+signing …\n');
  const eventSign = measureRate(() => void buildPdu(proto((n += 1)), rules, key));
  process.stderr.write('measuring raw ed25519 signing …\n');
  const rawSign = measureRate(() => void sign(null, signingInput, raw.privateKey));
  process.stderr.write('measuring event signature verification …\n');
  const eventVerify = measureRate(() => void verifyEventSignature(built, rules, key.serverName, key.keyId, key.publicKeyBase64));
  process.stderr.write('measuring raw ed25519 verification …\n');
  const rawVerify = measureRate(() => void verify(null, signingInput, raw.publicKey, rawSignature));

  printTable(
    'Event signing and verification (room v12 m.room.message)',
    ['operation', 'Strata', 'raw ed25519 (ceiling)', 'ratio'],
    [
      ['hash + sign an event', formatRate(eventSign.perSecond), formatRate(rawSign.perSecond), `${((eventSign.perSecond / rawSign.perSecond) * 100).toFixed(1)}%`],
      ['verify an event signature', formatRate(eventVerify.perSecond), formatRate(rawVerify.perSecond), `${((eventVerify.perSecond / rawVerify.perSecond) * 100).toFixed(1)}%`],
    ],
  );

  const rows: string[][] = [];
  for (const version of ['10', '12']) {
    const versionRules = roomVersionRules(version) as RoomVersionRules;
    process.stderr.write(`building the ${MEMBERS}-member room (v${version}) …\n`);
    const { store, stateSets } = buildLargeConflictedRoom(versionRules);
    const times: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const started = performance.now();
      resolveState({ stateSets, getEvent: (id) => store.get(id) }, versionRules);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    rows.push([`v${version} (${versionRules.stateRes})`, `${times[0]!.toFixed(0)} ms`, `${times[2]!.toFixed(0)} ms`, `${times[4]!.toFixed(0)} ms`]);
  }
  printTable(`State resolution: ${MEMBERS} members, ${FORKS} conflicting forks (5 runs)`, ['room version', 'best', 'median', 'worst'], rows);
};
