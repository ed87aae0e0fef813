/** Admin HTTP surface. */
export { createSharedSecretRegistrationRouter } from './sharedSecretRegistration.ts';
