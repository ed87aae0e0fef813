import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY, LogContractError, RecordFailure, backoffDelay, classifyFailure, retryDecision,
} from './failures.ts';
import { ConsumerStoppedError, createSupervisor, type ConsumerState } from './supervisor.ts';
import { createRoomLogContract } from './roomLogContract.ts';
import { refusingAppendsWhileStopped, waitWhileRunning } from './failFast.ts';
import type { LogEntry, RoomLog } from '../../domain/ports/index.ts';

const withCode = (message: string, code: string | number, name = 'Error'): Error =>
  Object.assign(new Error(message), { code, name });

describe('classifyFailure', () => {
  it('calls connection failures transient, whichever client reports them', () => {
    expect(classifyFailure(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe('transient');
    expect(classifyFailure(withCode('terminating connection due to administrator command', '57P01'))).toBe('transient');
    expect(classifyFailure(withCode('the database system is starting up', '57P03'))).toBe('transient');
    expect(classifyFailure(withCode('could not serialize access', '40001'))).toBe('transient');
    expect(classifyFailure(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classifyFailure(Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' }))).toBe('transient');
    expect(classifyFailure(Object.assign(new Error('The group is rebalancing'), { name: 'KafkaJSProtocolError', retriable: true }))).toBe('transient');
    expect(classifyFailure(Object.assign(new Error('retries exceeded'), { name: 'KafkaJSNumberOfRetriesExceeded' }))).toBe('transient');
    // A wrapper that says nothing of its own: its cause decides.
    const refused = new Error('ClickHouse insert failed: socket hang up', { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') });
    expect(classifyFailure(Object.assign(refused, { name: 'ClickHouseQueryError' }))).toBe('transient');
    expect(classifyFailure(new RecordFailure({ topic: 't', partition: 0, offset: 1 }, withCode('reset', 'ECONNRESET')))).toBe('transient');
    // Waiting on another consumer that stopped: resumes once that one is repaired.
    expect(classifyFailure(new ConsumerStoppedError('rooms', undefined, new Error('x')))).toBe('transient');
  });

  it('calls contract violations, bad data or SQL and programming errors permanent', () => {
    expect(classifyFailure(new LogContractError('gap'))).toBe('permanent');
    expect(classifyFailure(new RecordFailure({ topic: 't', partition: 0, offset: 1 }, new LogContractError('unknown record')))).toBe('permanent');
    expect(classifyFailure(withCode('duplicate key value', '23505'))).toBe('permanent');
    expect(classifyFailure(withCode('invalid input syntax for type json', '22P02'))).toBe('permanent');
    expect(classifyFailure(withCode('relation "x" does not exist', '42P01'))).toBe('permanent');
    // A restarting ClickHouse answers before it has loaded its tables: a missing table is retried.
    expect(classifyFailure(withCode('Code: 60. DB::Exception: Table strata.x does not exist', 60, 'ClickHouseQueryError'))).toBe('transient');
    expect(classifyFailure(new TypeError("Cannot read properties of undefined (reading 'eventId')"))).toBe('permanent');
  });

  it('leaves everything else unknown', () => {
    expect(classifyFailure(new Error('cannot project poison'))).toBe('unknown');
    expect(classifyFailure('a string')).toBe('unknown');
    expect(classifyFailure(withCode('some other failure', 'XX000'))).toBe('unknown');
  });
});

describe('backoff', () => {
  const policy = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 100, maxDelayMs: 2_000, factor: 2 };

  it('doubles from the first delay up to the cap, jitter taking off at most a fifth', () => {
    const none = () => 0;
    expect([1, 2, 3, 4, 5, 6, 10].map((attempt) => backoffDelay(policy, attempt, none))).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
    expect(backoffDelay(policy, 3, () => 1)).toBe(320);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(360);
  });

  it('retries transient failures forever, unknown ones up to the limit, permanent ones never', () => {
    const limited = { ...policy, maxUnknownAttempts: 3 };
    expect(retryDecision(limited, 'transient', 1_000, () => 0)).toEqual({ retry: true, delayMs: 2_000 });
    expect(retryDecision(limited, 'unknown', 2, () => 0)).toEqual({ retry: true, delayMs: 200 });
    expect(retryDecision(limited, 'unknown', 3)).toEqual({ retry: false });
    expect(retryDecision(limited, 'permanent', 1)).toEqual({ retry: false });
  });
});

describe('createSupervisor', () => {
  const at = { topic: 'strata.room.events', partition: 3, offset: 42 };
  const setup = () => {
    const states: [string, ConsumerState][] = [];
    const retries: string[] = [];
    const logged: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const log = (level: string) => (fields: Record<string, unknown>, message: string) => { logged.push({ level, message, fields }); };
    const supervisor = createSupervisor({
      policy: { initialDelayMs: 10, maxDelayMs: 40, maxUnknownAttempts: 3 },
      random: () => 0,
      now: () => 1_000,
      logger: { info: log('info'), warn: log('warn'), error: log('error') },
      metrics: { onConsumerState: (name, state) => states.push([name, state]), onConsumerRetry: (name, kind) => retries.push(`${name}:${kind}`) },
    });
    return { supervisor, states, retries, logged };
  };

  it('retries a transient failure with growing delays and reports recovery', () => {
    const { supervisor, states, retries } = setup();
    const rooms = supervisor.register('rooms');
    const refused = withCode('connect ECONNREFUSED', 'ECONNREFUSED');
    expect(rooms.failed(new RecordFailure(at, refused))).toEqual({ retry: true, delayMs: 10 });
    expect(rooms.failed(new RecordFailure(at, refused))).toEqual({ retry: true, delayMs: 20 });
    expect(supervisor.statuses()).toEqual([{
      name: 'rooms', state: 'retrying', retries: 2, error: `${at.topic}/3@42: connect ECONNREFUSED`, kind: 'transient', at, since: 1_000,
    }]);
    rooms.progressed();
    expect(supervisor.statuses()).toEqual([{ name: 'rooms', state: 'running', retries: 2, since: 1_000 }]);
    // Progress resets the count: the next failure waits the first delay again.
    expect(rooms.failed(refused)).toEqual({ retry: true, delayMs: 10 });
    expect(states).toEqual([['rooms', 'running'], ['rooms', 'retrying'], ['rooms', 'running'], ['rooms', 'retrying']]);
    expect(retries).toEqual(['rooms:transient', 'rooms:transient', 'rooms:transient']);
  });

  it('stops only the consumer whose record keeps failing, naming the record, and tells whoever waits', () => {
    const { supervisor, logged } = setup();
    const rooms = supervisor.register('rooms');
    const push = supervisor.register('push_gateway');
    const heard: ConsumerStoppedError[] = [];
    supervisor.onStopped('rooms', (error) => heard.push(error));
    const poison = new RecordFailure(at, new Error('cannot project poison'));
    expect(rooms.failed(poison).retry).toBe(true);
    expect(rooms.failed(poison).retry).toBe(true);
    const verdict = rooms.failed(poison);
    expect(verdict.retry).toBe(false);
    const stopped = supervisor.stopped('rooms')!;
    expect(stopped).toBeInstanceOf(ConsumerStoppedError);
    expect(stopped).toMatchObject({ errcode: 'M_UNKNOWN', status: 503, consumer: 'rooms', at });
    expect(stopped.message).toContain('strata.room.events partition 3 offset 42: cannot project poison');
    expect(heard).toEqual([stopped]);
    expect(supervisor.stopped('push_gateway')).toBeUndefined();
    expect(supervisor.statuses().map((status) => [status.name, status.state])).toEqual([['rooms', 'stopped'], ['push_gateway', 'running']]);
    expect(logged.find((line) => line.level === 'error')).toMatchObject({ fields: { consumer: 'rooms', topic: at.topic, partition: 3, offset: 42 } });
    // Late listeners hear at once.
    supervisor.onStopped('rooms', (error) => heard.push(error));
    expect(heard).toHaveLength(2);
    void push;
  });

  it('stops at once on a permanent failure; an unknown one on different records counts from one each time', () => {
    const { supervisor } = setup();
    const rooms = supervisor.register('rooms');
    for (let offset = 0; offset < 5; offset++) {
      expect(rooms.failed(new RecordFailure({ ...at, offset }, new Error('flaky'))).retry).toBe(true);
    }
    expect(rooms.failed(new RecordFailure(at, new LogContractError('gap in room !r:x'))).retry).toBe(false);
    expect(supervisor.statuses()[0]).toMatchObject({ state: 'stopped', kind: 'permanent', error: 'gap in room !r:x', at });
  });

  it('counts each stuck record\'s failures apart: partitions failing in turn still reach the limit', () => {
    const { supervisor } = setup();
    const rooms = supervisor.register('rooms');
    const other = { ...at, partition: 4, offset: 7 };
    for (let round = 1; round < 3; round++) {
      expect(rooms.failed(new RecordFailure(at, new Error('flaky'))).retry).toBe(true);
      expect(rooms.failed(new RecordFailure(other, new Error('flaky'))).retry).toBe(true);
    }
    expect(rooms.failed(new RecordFailure(at, new Error('flaky'))).retry).toBe(false);
    expect(supervisor.statuses()[0]).toMatchObject({ state: 'stopped', kind: 'unknown', at });
  });

  it('keeps retrying failures of unknown kind that name no record (the infrastructure, not a record)', () => {
    const { supervisor } = setup();
    const analytics = supervisor.register('analytics');
    for (let i = 0; i < 10; i++) expect(analytics.failed(new Error('group coordinator went away')).retry).toBe(true);
    expect(analytics.failed(new TypeError('bug')).retry).toBe(false);
  });

  it('backs off by the length of an outage that names no record, from the first delay again once the consumer runs', () => {
    const { supervisor } = setup();
    const rooms = supervisor.register('rooms');
    const down = withCode('connect ECONNREFUSED', 'ECONNREFUSED');
    expect([1, 2, 3].map(() => rooms.failed(down))).toEqual([
      { retry: true, delayMs: 10 }, { retry: true, delayMs: 20 }, { retry: true, delayMs: 40 },
    ]);
    rooms.running();
    expect(rooms.failed(down)).toEqual({ retry: true, delayMs: 10 });
  });

  it('refuses two running consumers of one name, and reports a clean stop as closed', () => {
    const { supervisor } = setup();
    const rooms = supervisor.register('rooms');
    expect(() => supervisor.register('rooms')).toThrow(/already running/);
    rooms.closed();
    expect(supervisor.statuses()[0]).toMatchObject({ state: 'closed' });
    expect(supervisor.register('rooms').name).toBe('rooms');
  });
});

describe('createRoomLogContract', () => {
  const accepted = (roomId: string, eventId: string, prev: string | null) => ({
    type: 'pdu.accepted', v: 1, roomId, roomVersion: '11', eventId, pdu: {}, stateDelta: [], prevAcceptedEventId: prev,
    forwardExtremities: [eventId], local: null, acceptedAt: 0,
  });
  const entry = (offset: number, value: unknown, key?: string): LogEntry => ({
    topic: 'strata.room.events', partition: 0, offset, key: key ?? (value as { roomId?: string }).roomId ?? '!x:t',
    value: value as LogEntry['value'], headers: {}, timestamp: 0,
  });

  it('passes chains that follow each room, from offset 0 and rooms interleaved', () => {
    const contract = createRoomLogContract();
    expect(contract.check(0, [
      entry(0, accepted('!a:t', '$a1', null)), entry(1, accepted('!b:t', '$b1', null)), entry(2, accepted('!a:t', '$a2', '$a1')),
    ])).toBeUndefined();
    // Entries seen before are passed over; the chain goes on.
    expect(contract.check(0, [entry(2, accepted('!a:t', '$a2', '$a1')), entry(3, accepted('!b:t', '$b2', '$b1'))])).toBeUndefined();
  });

  it('finds a gap: an acceptance that does not follow the last one seen', () => {
    const contract = createRoomLogContract();
    const violation = contract.check(0, [entry(0, accepted('!a:t', '$a1', null)), entry(1, accepted('!a:t', '$a3', '$a2'))]);
    expect(violation?.index).toBe(1);
    expect(violation?.error).toBeInstanceOf(LogContractError);
    expect(violation?.error.message).toMatch(/gap in room !a:t at strata.room.events\/0@1: \$a3 follows \$a2 but the last accepted event seen was \$a1/);
    // From offset 0, a room's first acceptance must follow nothing.
    expect(createRoomLogContract().check(0, [entry(0, accepted('!a:t', '$a2', '$a1'))])?.index).toBe(0);
  });

  it('trusts a room\'s first record after a position it did not see, then checks on', () => {
    const contract = createRoomLogContract();
    expect(contract.check(0, [entry(40, accepted('!a:t', '$a7', '$a6')), entry(41, accepted('!a:t', '$a8', '$a7'))])).toBeUndefined();
    expect(contract.check(0, [entry(42, accepted('!a:t', '$a9', '$a7'))])?.index).toBe(0);
    contract.forget([0]);
    expect(contract.check(0, [entry(42, accepted('!a:t', '$a9', '$a7'))])).toBeUndefined();
  });

  it('refuses a record of unknown (type, v) or keyed by another room, instead of skipping it', () => {
    const contract = createRoomLogContract();
    expect(contract.check(0, [entry(0, { type: 'pdu.accepted', v: 99, roomId: '!a:t' })])?.error.message)
      .toMatch(/unknown room record \(type "pdu.accepted", v 99\) at strata.room.events\/0@0/);
    expect(createRoomLogContract().check(0, [entry(0, { type: 'room.tombstoned', v: 1, roomId: '!a:t' })])?.index).toBe(0);
    expect(createRoomLogContract().check(0, [entry(0, accepted('!a:t', '$a1', null), '!b:t')])?.error.message).toMatch(/keyed !b:t/);
  });
});

describe('failing fast on a stopped consumer', () => {
  const stoppable = () => {
    const supervisor = createSupervisor({ policy: { maxUnknownAttempts: 1 } });
    const rooms = supervisor.register('rooms');
    const stop = () => rooms.failed(new RecordFailure({ topic: 'strata.room.events', partition: 0, offset: 7 }, new LogContractError('gap')));
    return { supervisor, stop };
  };

  it('ends a wait as soon as the consumer stops, and refuses new ones at once', async () => {
    const { supervisor, stop } = stoppable();
    let aborted = false;
    const waiting = waitWhileRunning(supervisor, 'rooms', undefined, (signal) => new Promise<string>((resolve) => {
      signal.addEventListener('abort', () => { aborted = true; resolve('woken'); });
    }));
    stop();
    await expect(waiting).rejects.toBeInstanceOf(ConsumerStoppedError);
    expect(aborted).toBe(true);
    await expect(waitWhileRunning(supervisor, 'rooms', undefined, async () => 'never asked')).rejects.toMatchObject({ status: 503 });
  });

  it('answers what the wait answers while the consumer runs, and passes the caller\'s abort on', async () => {
    const { supervisor } = stoppable();
    expect(await waitWhileRunning(supervisor, 'rooms', undefined, async () => 42)).toBe(42);
    const caller = new AbortController();
    const waiting = waitWhileRunning(supervisor, 'rooms', caller.signal, (signal) => new Promise<string>((resolve) => {
      signal.addEventListener('abort', () => resolve('caller gave up'));
    }));
    caller.abort();
    expect(await waiting).toBe('caller gave up');
  });

  it('refuses appends to the consumer\'s topic while it is stopped, and only those', async () => {
    const { supervisor, stop } = stoppable();
    const appended: string[] = [];
    const log = {
      append: async (topic: string) => { appended.push(topic); return [{ partition: 0, offset: appended.length - 1 }]; },
    } as unknown as RoomLog;
    const guarded = refusingAppendsWhileStopped(log, supervisor, 'rooms', 'strata.room.events');
    await guarded.append('strata.room.events', [{ key: '!a:t', value: 1 }]);
    stop();
    await expect(guarded.append('strata.room.events', [{ key: '!a:t', value: 2 }])).rejects.toBeInstanceOf(ConsumerStoppedError);
    await guarded.append('strata.server', [{ key: 's', value: 3 }]);
    expect(appended).toEqual(['strata.room.events', 'strata.server']);
  });
});
