/** SQL-backed stores and the crypto adapters they come with. */
export { ACCOUNT_SCHEMA, ensureAccountSchema } from './accountSchema.ts';
export { createArgon2PasswordHasher, OWASP_ARGON2ID, type Argon2Parameters } from './argon2PasswordHasher.ts';
export { cryptoRandom, systemClock } from './cryptoRandom.ts';
export { createSqlAccountStore } from './sqlAccountStore.ts';
export { withAccessTokenCache, type AccessTokenCacheOptions } from './accessTokenCache.ts';
export { createSqlThreePidStore } from './sqlThreePidStore.ts';
