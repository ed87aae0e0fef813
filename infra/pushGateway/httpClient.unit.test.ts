import { describe, expect, it } from 'vitest';
import { createPushGatewayClient } from './index.ts';

const REQUEST = { url: 'https://push.example/_matrix/push/v1/notify', body: { notification: { event_id: '$e' } } };

/** A fetch answering from a script, one answer per call (an Error is thrown as a network error). */
const scripted = (answers: readonly (Response | Error)[]) => {
  const calls: RequestInit[] = [];
  const fetchFn = (async (_url: string | URL | Request, init?: RequestInit) => {
    calls.push(init ?? {});
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return answer.clone();
  }) as typeof fetch;
  return { calls, fetchFn };
};

const recordingLogger = () => {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (_fields: Record<string, unknown>, message: string) => warnings.push(message) } };
};

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('the push gateway client', () => {
  it('posts the body as JSON and answers the rejected pushkeys', async () => {
    const { calls, fetchFn } = scripted([json(200, { rejected: ['k1'] })]);
    const client = createPushGatewayClient({ logger: recordingLogger().logger, fetch: fetchFn });
    expect(await client.notify(REQUEST)).toEqual(['k1']);
    expect(calls[0]).toMatchObject({ method: 'POST', body: JSON.stringify(REQUEST.body) });
  });

  it('retries network errors and 5xx with backoff until the gateway answers', async () => {
    const { calls, fetchFn } = scripted([new TypeError('fetch failed'), json(503, {}), json(200, { rejected: [] })]);
    const client = createPushGatewayClient({ logger: recordingLogger().logger, fetch: fetchFn, initialBackoffMs: 1 });
    expect(await client.notify(REQUEST)).toEqual([]);
    expect(calls).toHaveLength(3);
  });

  it('gives up after the bounded time and logs it', async () => {
    const { calls, fetchFn } = scripted([json(500, {})]);
    const { warnings, logger } = recordingLogger();
    const client = createPushGatewayClient({ logger, fetch: fetchFn, initialBackoffMs: 5, giveUpAfterMs: 30 });
    expect(await client.notify(REQUEST)).toEqual([]);
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.length).toBeLessThan(5);
    expect(warnings).toEqual(['push gateway unreachable; notification given up']);
  });

  it('drops notifications to a gateway it gave up on until the cooldown has passed', async () => {
    const { calls, fetchFn } = scripted([json(500, {}), json(500, {}), json(200, { rejected: ['k'] })]);
    const client = createPushGatewayClient({ logger: recordingLogger().logger, fetch: fetchFn, initialBackoffMs: 5, giveUpAfterMs: 4, cooldownMs: 50 });
    expect(await client.notify(REQUEST)).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(await client.notify(REQUEST)).toEqual([]);
    expect(calls).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await client.notify(REQUEST);
    expect(calls).toHaveLength(2);
  });

  it('does not retry a 4xx', async () => {
    const { calls, fetchFn } = scripted([json(400, { error: 'bad' })]);
    const { warnings, logger } = recordingLogger();
    expect(await createPushGatewayClient({ logger, fetch: fetchFn }).notify(REQUEST)).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(warnings).toEqual(['push gateway refused the notification; not retried']);
  });

  it('stops retrying once closed', async () => {
    const { calls, fetchFn } = scripted([json(502, {})]);
    const client = createPushGatewayClient({ logger: recordingLogger().logger, fetch: fetchFn, initialBackoffMs: 60_000, giveUpAfterMs: 600_000 });
    const pending = client.notify(REQUEST);
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.close();
    expect(await pending).toEqual([]);
    expect(calls).toHaveLength(1);
  });
});
