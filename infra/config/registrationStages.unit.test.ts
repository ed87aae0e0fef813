import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './index.ts';

const FILE = { STRATA_CONFIG: '/etc/strata.yaml' };
const load = (text: string) => loadConfig(FILE, () => text);
const errorOf = (text: string): string => {
  try {
    load(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected loadConfig to throw');
};

describe('registration stages (Synapse`s keys)', () => {
  it('asks for nothing by default', () => {
    const config = load('');
    expect(config.registrationCaptcha).toBeUndefined();
    expect(config.userConsent).toBeUndefined();
  });

  it('reads the captcha keys, with Synapse`s siteverify API by default', () => {
    expect(load('enable_registration_captcha: true\nrecaptcha_public_key: pub\nrecaptcha_private_key: priv\n').registrationCaptcha).toEqual({
      publicKey: 'pub', privateKey: 'priv', siteverifyApi: 'https://www.recaptcha.net/recaptcha/api/siteverify',
    });
    expect(load('enable_registration_captcha: false\nrecaptcha_public_key: pub\n').registrationCaptcha).toBeUndefined();
    const local = 'enable_registration_captcha: true\nrecaptcha_public_key: a\nrecaptcha_private_key: b\nrecaptcha_siteverify_api: http://127.0.0.1:9/v\n';
    expect(load(local).registrationCaptcha?.siteverifyApi).toBe('http://127.0.0.1:9/v');
  });

  it('names the key a captcha lacks, or a bad one', () => {
    expect(errorOf('enable_registration_captcha: true\nrecaptcha_public_key: pub\n')).toContain(
      'recaptcha_private_key (from /etc/strata.yaml): needed when enable_registration_captcha is true',
    );
    expect(errorOf('recaptcha_siteverify_api: ftp://x\n')).toContain('recaptcha_siteverify_api');
  });

  it('reads user_consent with Synapse`s defaults, and refuses what it cannot use', () => {
    expect(load('user_consent:\n  version: "1.0"\n  template_dir: /srv/consent\n').userConsent).toEqual({
      version: '1.0', templateDir: '/srv/consent', policyName: 'Privacy Policy', requireAtRegistration: false,
    });
    expect(load('user_consent:\n  version: v2\n  template_dir: t\n  policy_name: Terms\n  require_at_registration: true\n').userConsent)
      .toMatchObject({ policyName: 'Terms', requireAtRegistration: true });
    expect(errorOf('user_consent:\n  template_dir: t\n')).toContain('user_consent.version');
    expect(errorOf('user_consent:\n  version: ../../etc/passwd\n  template_dir: t\n')).toContain('user_consent.version');
  });
});
