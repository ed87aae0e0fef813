/**
 * What registration asks of a new user beyond `m.login.dummy`, under Synapse's keys:
 * `enable_registration_captcha` with `recaptcha_public_key`, `recaptcha_private_key` and
 * `recaptcha_siteverify_api` (the `m.login.recaptcha` stage), and the `user_consent` section (its
 * privacy policy, offered as the `m.login.terms` stage when `require_at_registration`).
 */
import { Schema } from 'effect';

const NonEmpty = Schema.String.check(Schema.makeFilter((s: string) => (s.trim() === '' ? 'must not be empty' : undefined)));

/** Synapse's default `recaptcha_siteverify_api`. */
export const DEFAULT_SITEVERIFY_API = 'https://www.recaptcha.net/recaptcha/api/siteverify';

export const CaptchaKeys = {
  enable_registration_captcha: Schema.optionalKey(Schema.Boolean),
  recaptcha_public_key: Schema.optionalKey(NonEmpty),
  recaptcha_private_key: Schema.optionalKey(NonEmpty),
  recaptcha_siteverify_api: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^https?:\/\/\S+$/))),
};

/** Synapse's `user_consent`, the keys that concern the policy itself. */
export const UserConsentFile = Schema.Struct({
  /** The policy's version: the file `<template_dir>/en/<version>.html` is the policy. */
  version: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._-]{1,64}$/)),
  template_dir: NonEmpty,
  policy_name: Schema.optionalKey(NonEmpty),
  require_at_registration: Schema.optionalKey(Schema.Boolean),
});
export type UserConsentFile = typeof UserConsentFile.Type;

export interface RegistrationCaptchaSettings {
  readonly publicKey: string;
  readonly privateKey: string;
  readonly siteverifyApi: string;
}

export interface UserConsentSettings {
  readonly version: string;
  readonly templateDir: string;
  readonly policyName: string;
  readonly requireAtRegistration: boolean;
}

interface CaptchaFile {
  readonly enable_registration_captcha?: boolean;
  readonly recaptcha_public_key?: string;
  readonly recaptcha_private_key?: string;
  readonly recaptcha_siteverify_api?: string;
}

/** The key that is missing for the captcha to work, if it is enabled. */
export const captchaProblem = (file: CaptchaFile): { key: string; problem: string } | undefined => {
  if (file.enable_registration_captcha !== true) return undefined;
  for (const key of ['recaptcha_public_key', 'recaptcha_private_key'] as const) {
    if (file[key] === undefined) return { key, problem: 'needed when enable_registration_captcha is true' };
  }
  return undefined;
};

export const registrationCaptchaSettings = (file: CaptchaFile): RegistrationCaptchaSettings | undefined =>
  file.enable_registration_captcha !== true || file.recaptcha_public_key === undefined || file.recaptcha_private_key === undefined
    ? undefined
    : {
      publicKey: file.recaptcha_public_key,
      privateKey: file.recaptcha_private_key,
      siteverifyApi: file.recaptcha_siteverify_api ?? DEFAULT_SITEVERIFY_API,
    };

/** Synapse's defaults: the policy is called "Privacy Policy" and registration does not ask for it. */
export const userConsentSettings = (file: UserConsentFile | undefined): UserConsentSettings | undefined =>
  file === undefined
    ? undefined
    : {
      version: file.version,
      templateDir: file.template_dir,
      policyName: file.policy_name ?? 'Privacy Policy',
      requireAtRegistration: file.require_at_registration ?? false,
    };
