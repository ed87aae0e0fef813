// The 3PID requestToken family and registration token validity: refused as a server without email,
// SMS or registration tokens refuses them, after the checks Synapse makes first; email addresses'
// canonical form.
import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import { registrationTokenValidity } from './register.ts';
import { createTestContext } from '../../../test/builders/index.ts';
import { canonicaliseEmail, requestThreePidToken, type ThreePidMedium, type ThreePidPurpose } from './threePids.ts';

const errorOf = async (promise: Promise<unknown>): Promise<{ errcode: string; status: number; message: string }> => {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(MatrixError);
  const { errcode, status, message } = error as MatrixError;
  return { errcode, status, message };
};

/** A server without email configured. */
const NO_EMAIL = createTestContext({});

const PHONE = { client_secret: 'monkeys_are_GREAT', country: 'GB', phone_number: '+44 (0)7700-900001', send_attempt: 1 };

describe('requestThreePidToken', () => {
  it('answers each purpose with its endpoint`s refusal', async () => {
    const cases: [ThreePidPurpose, ThreePidMedium, string, number][] = [
      ['account', 'email', 'M_THREEPID_MEDIUM_NOT_SUPPORTED', 400], ['account', 'msisdn', 'M_THREEPID_MEDIUM_NOT_SUPPORTED', 400],
      ['registration', 'email', 'M_THREEPID_DENIED', 403], ['registration', 'msisdn', 'M_THREEPID_DENIED', 403],
      ['passwordReset', 'email', 'M_THREEPID_DENIED', 403], ['passwordReset', 'msisdn', 'M_THREEPID_DENIED', 403],
    ];
    for (const [purpose, medium, errcode, status] of cases) {
      expect(await errorOf(requestThreePidToken(NO_EMAIL, purpose, medium, async () => PHONE))).toMatchObject({ errcode, status });
    }
  });

  it('never reads an email request`s body', async () => {
    let read = false;
    const readBody = async (): Promise<JsonObject> => {
      read = true;
      return {};
    };
    expect(await errorOf(requestThreePidToken(NO_EMAIL, 'registration', 'email', readBody))).toMatchObject({ errcode: 'M_THREEPID_DENIED' });
    expect(read).toBe(false);
  });

  it('checks a phone number request first: params, client secret, attempt, country, identity server, number', async () => {
    const refused = (body: JsonObject) => errorOf(requestThreePidToken(NO_EMAIL, 'registration', 'msisdn', async () => body));
    expect(await refused({})).toEqual({
      errcode: 'M_MISSING_PARAM', status: 400, message: 'Missing params: client_secret, country, phone_number, send_attempt',
    });
    expect(await refused({ ...PHONE, client_secret: '' })).toEqual({ errcode: 'M_INVALID_PARAM', status: 400, message: 'Invalid client_secret parameter' });
    expect(await refused({ ...PHONE, client_secret: 'x'.repeat(256) })).toMatchObject({ errcode: 'M_INVALID_PARAM', message: 'Invalid client_secret parameter' });
    expect(await refused({ ...PHONE, send_attempt: '1' })).toMatchObject({ errcode: 'M_INVALID_PARAM', message: "'send_attempt' must be an integer" });
    expect(await refused({ ...PHONE, country: 'GBR' })).toMatchObject({ errcode: 'M_INVALID_PARAM' });
    expect(await refused({ ...PHONE, id_server: 'id.example.org' }))
      .toMatchObject({ errcode: 'M_INVALID_PARAM', message: 'id_access_token is required if an id_server is supplied.' });
    for (const phoneNumber of ['call me', '1', '+123456789012345678']) {
      expect(await refused({ ...PHONE, phone_number: phoneNumber })).toEqual({ errcode: 'M_INVALID_PARAM', status: 400, message: 'Unable to parse phone number' });
    }
  });
});

describe('registrationTokenValidity', () => {
  it('is 403 while registration is disabled, then wants a token, and knows none', () => {
    const closed = () => registrationTokenValidity(createTestContext({ registration: 'disabled' }), 'abc');
    expect(closed).toThrow(expect.objectContaining({ errcode: 'M_FORBIDDEN', status: 403 }));
    const open = createTestContext({ registration: 'open' });
    expect(() => registrationTokenValidity(open, undefined)).toThrow(expect.objectContaining({ errcode: 'M_MISSING_PARAM', status: 400 }));
    expect(registrationTokenValidity(open, 'abc')).toEqual({ valid: false });
  });
});

describe('canonicaliseEmail', () => {
  it('trims and lower-cases, as Synapse, so one mailbox is one 3PID', () => {
    expect(canonicaliseEmail('  Bob.Smith@Example.ORG ')).toBe('bob.smith@example.org');
  });

  it('refuses what is not one address', () => {
    for (const address of [
      'no-at-sign', 'two@at@signs', '@example.org', 'bob@', 'bob smith@example.org', `${'a'.repeat(495)}@b.org`,
      'a,victim@example.org', 'bob@example.org\r\nBcc: x@y.z', '"bob"@example.org', 'bob;x@example.org', 'bob\u0000@example.org',
    ]) {
      expect(() => canonicaliseEmail(address)).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM', status: 400 }));
    }
  });
});
