/** The Random and Clock ports on Node: a CSPRNG (uniform, no modulo bias) and the system clock. */
import { randomInt } from 'node:crypto';
import type { Clock, Random } from '../../domain/app/accounts/index.ts';

export const cryptoRandom: Random = {
  string(length, alphabet) {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
    return out;
  },
};

export const systemClock: Clock = { now: () => Date.now() };
