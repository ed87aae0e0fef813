/** Client routes for per-user data and the ephemeral streams. */
export { createUserDataRouter, type UserDataRouterOptions } from './router.ts';
