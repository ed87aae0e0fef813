/**
 * What registration asks of new users, from the config: the reCAPTCHA stage (verified through the
 * siteverify API) and the terms stage with the privacy policy served at `/_matrix/consent`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AccountsContext } from '../../domain/app/accounts/index.ts';
import type { ConsentOptions } from '../../gateways/client/index.ts';
import type { StrataConfig } from '../config/index.ts';
import { createSiteverifyRecaptcha } from './siteverify.ts';

export { createSiteverifyRecaptcha, type SiteverifyOptions } from './siteverify.ts';

export interface RegistrationStages {
  readonly context: Pick<AccountsContext, 'registrationCaptcha' | 'registrationTerms'>;
  /** Set when a policy is configured: the `/_matrix/consent` route. */
  readonly consent?: ConsentOptions;
}

/** The policy of a version: `<template_dir>/en/<version>.html` (Synapse's layout, English only). */
const readPolicy = (templateDir: string) => async (version: string): Promise<string | undefined> => {
  try {
    return await readFile(path.join(templateDir, 'en', `${version}.html`), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

export const registrationStages = (config: StrataConfig, logger: Logger, publicBaseUrl: () => string): RegistrationStages => {
  const captcha = config.registrationCaptcha;
  const consent = config.userConsent;
  return {
    context: {
      ...(captcha === undefined ? {} : {
        registrationCaptcha: {
          publicKey: captcha.publicKey,
          verifier: createSiteverifyRecaptcha({ url: captcha.siteverifyApi, secret: captcha.privateKey, logger: logger.child({ subsystem: 'recaptcha' }) }),
        },
      }),
      ...(consent?.requireAtRegistration !== true ? {} : {
        registrationTerms: {
          version: consent.version,
          name: consent.policyName,
          url: () => `${publicBaseUrl().replace(/\/$/, '')}/_matrix/consent?v=${encodeURIComponent(consent.version)}`,
        },
      }),
    },
    ...(consent === undefined ? {} : { consent: { currentVersion: consent.version, policy: readPolicy(consent.templateDir) } }),
  };
};
