/** infra's public surface for code outside it: the composition root, for tests that run Strata in-process. */
export { startStrata, type StartedStrata, type StrataOptions } from './strata.ts';
