import { describe, expect, it } from 'vitest';
import { createInProcessNotifier } from './notifier.ts';

describe('in-process notifier', () => {
  it('wakes a waiter on one of its keys, not on others', async () => {
    const notifier = createInProcessNotifier();
    const since = notifier.current();
    let woken = false;
    const waiting = notifier.waitFor(['@a:x', '!r:x'], since, 10_000).then((at) => {
      woken = true;
      return at;
    });
    notifier.notify(['@b:x']);
    await Promise.resolve();
    expect(woken).toBe(false);
    notifier.notify(['!r:x']);
    expect(await waiting).toBe(2);
  });

  it('returns at once when a key was notified after `since` (no lost wake-up)', async () => {
    const notifier = createInProcessNotifier();
    const since = notifier.current();
    notifier.notify(['@a:x']);
    expect(await notifier.waitFor(['@a:x'], since, 10_000)).toBe(1);
  });

  it('gives up at the timeout or when aborted', async () => {
    const notifier = createInProcessNotifier();
    const started = Date.now();
    expect(await notifier.waitFor(['@a:x'], 0, 30)).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    const controller = new AbortController();
    const waiting = notifier.waitFor(['@a:x'], 0, 10_000, controller.signal);
    controller.abort();
    expect(await waiting).toBe(0);
  });
});
