// Email validation with email configured, over an in-memory store and a recording mailer: sessions
// and send_attempt idempotence, what each purpose refuses, a mail server's refusal, and the token's
// submission (right token, secret and time only; next_link handed back).
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import type { OutgoingMail } from '../../ports/threePids.ts';
import { createMemoryThreePidStore, createTestClock, createTestContext } from '../../../test/builders/index.ts';
import type { AccountsContext } from './context.ts';
import { requestThreePidToken, submitThreePidToken } from './threePids.ts';

const LIFETIME_MS = 3_600_000;

const setUp = (overrides: Partial<AccountsContext> = {}, failMail = false) => {
  const mails: OutgoingMail[] = [];
  const store = createMemoryThreePidStore();
  const clock = createTestClock();
  const ctx = createTestContext({
    clock,
    threePids: {
      store, trustedIdServers: [],
      email: {
        tokenLifetimeMs: LIFETIME_MS, publicBaseUrl: () => 'https://hs.example.org/',
        mailer: {
          async send(mail) {
            if (failMail) throw new Error('550 refused');
            mails.push(mail);
          },
        },
      },
    },
    ...overrides,
  });
  const request = (purpose: 'account' | 'registration' | 'passwordReset', body: JsonObject) =>
    requestThreePidToken(ctx, purpose, 'email', async () => body);
  /** The token of a mail: its link's `token` parameter. */
  const tokenOf = (mail: OutgoingMail) => new URL(/(https:\/\/\S+)/.exec(mail.text)![1]!).searchParams.get('token')!;
  return { ctx, store, clock, mails, request, tokenOf };
};

const BODY = { client_secret: 'secret', email: 'Bob@Example.org', send_attempt: 1 };

describe('email requestToken', () => {
  it('opens a session and mails a link to the canonical address; the same attempt sends nothing more', async () => {
    const { request, mails, store } = setUp();
    const first = await request('registration', BODY);
    expect(first.submit_url).toBe('https://hs.example.org/_synapse/client/email/submit_token');
    expect(mails.map((mail) => mail.to)).toEqual(['bob@example.org']);
    expect(mails[0]!.text).toContain(`sid=${first.sid}`);
    expect(await request('registration', BODY)).toEqual(first);
    expect(mails).toHaveLength(1);
    const again = await request('registration', { ...BODY, send_attempt: 2 });
    expect(again.sid).toBe(first.sid);
    expect(mails).toHaveLength(2);
    expect(store.sessions.get(first.sid)?.lastSendAttempt).toBe(2);
  });

  it('refuses registration mails while registration is closed, without reading the body', async () => {
    const { ctx, mails } = setUp({ registration: 'disabled' });
    let read = false;
    await expect(requestThreePidToken(ctx, 'registration', 'email', async () => ((read = true), BODY)))
      .rejects.toMatchObject({ errcode: 'M_THREEPID_DENIED', status: 403 });
    expect([read, mails]).toEqual([false, []]);
  });

  it('answers a mail server`s refusal with an error and keeps no session, so a retry sends', async () => {
    const failing = setUp({}, true);
    await expect(failing.request('account', BODY)).rejects.toMatchObject({ errcode: 'M_UNKNOWN', status: 500 });
    expect(failing.store.sessions.size).toBe(0);
  });

  it('refuses a reset for an unknown address and a registration for a taken one', async () => {
    const { request, store } = setUp();
    await expect(request('passwordReset', BODY)).rejects.toMatchObject({ errcode: 'M_THREEPID_NOT_FOUND', status: 400 });
    await store.addThreePid({ userId: '@bob:example.org', medium: 'email', address: 'bob@example.org', validatedTs: 1, addedTs: 1 });
    await expect(request('registration', BODY)).rejects.toMatchObject({ errcode: 'M_THREEPID_IN_USE', status: 400 });
    await expect(request('account', BODY)).rejects.toMatchObject({ errcode: 'M_THREEPID_IN_USE', status: 400 });
    expect((await request('passwordReset', BODY)).sid).toEqual(expect.any(String));
  });
});

describe('submitThreePidToken', () => {
  it('validates with the last token, the session`s secret, before expiry; hands back next_link', async () => {
    const { ctx, request, mails, tokenOf, store, clock } = setUp();
    const { sid } = await request('account', { ...BODY, next_link: 'https://app.example.org/done' });
    const token = tokenOf(mails[0]!);
    const refused = { errcode: 'M_FORBIDDEN', status: 400 };
    await expect(submitThreePidToken(ctx, sid, 'other', token)).rejects.toMatchObject(refused);
    await expect(submitThreePidToken(ctx, sid, 'secret', 'wrong')).rejects.toMatchObject(refused);
    await expect(submitThreePidToken(ctx, 'unknown', 'secret', token)).rejects.toMatchObject(refused);
    clock.advance(LIFETIME_MS + 1);
    await expect(submitThreePidToken(ctx, sid, 'secret', token)).rejects.toMatchObject(refused);
    // A new attempt mails a new token; only that one validates.
    await request('account', { ...BODY, send_attempt: 2, next_link: 'https://app.example.org/done' });
    await expect(submitThreePidToken(ctx, sid, 'secret', token)).rejects.toMatchObject(refused);
    expect(await submitThreePidToken(ctx, sid, 'secret', tokenOf(mails[1]!))).toEqual({ success: true, nextLink: 'https://app.example.org/done' });
    expect(store.sessions.get(sid)?.validatedTs).toBe(clock.now());
  });
});
