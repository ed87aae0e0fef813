/**
 * Deterministic dependencies for the account use-case tests: an in-memory store, a fast reversible
 * "hasher", a settable clock and a counter-based random source.
 */
import type { Clock, PasswordHasher, Random } from '../../domain/ports/index.ts';
import type { AccountsContext, GuardedRequest } from '../../domain/app/accounts/index.ts';
import type { JsonObject } from '../../domain/index.ts';
import { createMemoryAccountStore, type MemoryAccountStore } from './memoryAccountStore.ts';

export interface TestClock extends Clock {
  advance(ms: number): void;
}

export const createTestClock = (start = 1_700_000_000_000): TestClock => {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
};

/** Not a password hash: a labelled copy, so tests can see what was stored. */
export const fakePasswordHasher: PasswordHasher = {
  hash: async (password) => `plain$${password}`,
  verify: async (password, hash) => hash === `plain$${password}`,
};

/** Each call yields a fresh string: the alphabet cycled from a running counter. */
export const createCountingRandom = (): Random => {
  let counter = 0;
  return {
    string(length, alphabet) {
      counter++;
      let out = '';
      for (let i = 0, n = counter; i < length; i++, n = Math.floor(n / alphabet.length) + i * 7) out += alphabet[n % alphabet.length];
      return out;
    },
  };
};

export interface TestAccountsContext extends AccountsContext {
  readonly store: MemoryAccountStore;
  readonly clock: TestClock;
}

export const createTestContext = (overrides: Partial<AccountsContext> = {}): TestAccountsContext => ({
  store: createMemoryAccountStore(),
  hasher: fakePasswordHasher,
  clock: createTestClock(),
  random: createCountingRandom(),
  serverName: 'example.org',
  registration: 'open',
  ...overrides,
} as TestAccountsContext);

/** A request behind user-interactive auth: `auth` (when given) in its body beside the operation's parameters. */
export const guarded = (auth?: JsonObject, params: JsonObject = {}, method = 'POST', uri = '/_matrix/client/v3/test'): GuardedRequest => ({
  method,
  uri,
  body: auth === undefined ? params : { ...params, auth },
});
