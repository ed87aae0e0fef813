export { loadConfig, ConfigError } from './loadConfig.ts';
export type { StrataConfig, RateLimit, LogLevel, Env, ReadConfigFile } from './loadConfig.ts';
export { cidrProblem, type FederationSettings } from './federation.ts';
export { parseListenAddress, serverNameProblem } from './address.ts';
export type { ListenAddress } from './address.ts';
export type { EmailSettings } from './email.ts';
