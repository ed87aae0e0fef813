import { describe, expect, it } from 'vitest';
import { createInProcessNotifier } from '../notifier/index.ts';
import { createTypingStream, MAX_TYPING_TIMEOUT_MS, type Schedule } from './typing.ts';

const manualTimers = () => {
  const pending = new Map<number, { run: () => void; ms: number }>();
  let next = 0;
  const schedule: Schedule = (run, ms) => {
    const id = next++;
    pending.set(id, { run, ms });
    return () => pending.delete(id);
  };
  const fireAll = () => {
    for (const [id, timer] of [...pending]) {
      pending.delete(id);
      timer.run();
    }
  };
  return { schedule, pending, fireAll };
};

describe('typing stream', () => {
  it('tracks who types per room and moves only on visible changes', () => {
    const timers = manualTimers();
    const notifier = createInProcessNotifier();
    const typing = createTypingStream(notifier, timers.schedule);
    typing.setTyping('!r', '@a', true, 1000);
    typing.setTyping('!r', '@b', true, 1000);
    expect(typing.currentPosition()).toBe(2);
    typing.setTyping('!r', '@a', true, 5000); // refresh only
    expect(typing.currentPosition()).toBe(2);
    expect(typing.changesSince(['!r', '!other'], 0, 2)).toEqual([{ roomId: '!r', userIds: ['@b', '@a'] }]);
    expect(typing.changesSince(['!r'], 2, 2)).toEqual([]);
    typing.setTyping('!r', '@c', false, 0); // was not typing
    expect(typing.currentPosition()).toBe(2);
    expect(notifier.current()).toBe(2);
  });

  it('expires typing users at their timeout, capped', () => {
    const timers = manualTimers();
    const typing = createTypingStream(createInProcessNotifier(), timers.schedule);
    typing.setTyping('!r', '@a', true, 10 * MAX_TYPING_TIMEOUT_MS);
    expect([...timers.pending.values()].map((t) => t.ms)).toEqual([MAX_TYPING_TIMEOUT_MS]);
    timers.fireAll();
    expect(typing.changesSince(['!r'], 1, typing.currentPosition())).toEqual([{ roomId: '!r', userIds: [] }]);
    typing.setTyping('!r', '@a', true, 1000);
    typing.close();
    expect(timers.pending.size).toBe(0);
  });
});
