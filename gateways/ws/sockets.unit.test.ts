import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket, WebSocketServer } from 'ws';
import { MatrixError } from '../../domain/index.ts';
import type { Requester } from '../../domain/app/accounts/index.ts';
import { closeReason, createSocketSessions, type EventSocketCloseReason, type SocketLimits, type SocketSession } from './sockets.ts';

describe('closeReason', () => {
  it('keeps short reasons and cuts long ones to 123 bytes on a character boundary', () => {
    expect(closeReason('M_UNKNOWN_TOKEN: Unknown access token')).toBe('M_UNKNOWN_TOKEN: Unknown access token');
    expect(Buffer.byteLength(closeReason('x'.repeat(500)))).toBe(123);
    // 'é' is two bytes: 61 of them are 122 bytes, a 62nd would pass the bound.
    const cut = closeReason('é'.repeat(100));
    expect(cut).toBe('é'.repeat(61));
    expect(cut).not.toContain('\uFFFD');
  });
});

/** What the sessions use of a `ws` socket, recorded. */
class FakeSocket extends EventEmitter {
  bufferedAmount = 0;
  readonly sent: string[] = [];
  closed: { code: number; reason: string } | undefined;
  terminated = false;
  send(text: string): void { this.sent.push(text); }
  ping(): void { setTimeout(() => this.emit('pong'), 0); }
  terminate(): void { this.terminated = true; this.emit('close'); }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.emit('close');
  }
}

const requester = (userId: string): Requester => ({ userId, deviceId: 'D', isGuest: false } as Requester);
const credentials = { token: 't', connection: { ip: '', userAgent: '' }, assertion: {} };
const limits: SocketLimits = { maxBufferedBytes: 100, heartbeatIntervalMs: 1_000, tokenCheckIntervalMs: 500, maxSocketsPerUser: 2, maxSockets: 3 };

describe('socket sessions', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  const setup = (check: (userId: string) => Promise<void>) => {
    let tokenValid = true;
    const closes: EventSocketCloseReason[] = [];
    const sessions = createSocketSessions({
      accounts: {
        authenticate: async () => {
          if (!tokenValid) throw new MatrixError('M_UNKNOWN_TOKEN', 401, 'Unknown access token');
          return requester('@a:x');
        },
      },
      limits, noun: 'test sockets', onError: (error) => { throw error; },
      metrics: { opened: () => undefined, closed: (why) => closes.push(why) },
    });
    const open = (userId: string, stream: (session: SocketSession) => Promise<void> = (s) => new Promise((done) => s.signal.addEventListener('abort', () => done()))) => {
      const ws = new FakeSocket();
      sessions.open(ws as unknown as WebSocket, requester(userId), credentials, stream, { recheck: (current) => check(current.userId), failure: 'stream_error' });
      return ws;
    };
    return { sessions, open, closes, revoke: () => { tokenValid = false; } };
  };

  it('bounds sockets per user and in all', () => {
    const { sessions, open } = setup(async () => undefined);
    open('@a:x');
    open('@a:x');
    expect(sessions.refusal('@a:x')).toMatchObject({ errcode: 'M_LIMIT_EXCEEDED', status: 429, message: 'At most 2 test sockets per user' });
    expect(sessions.refusal('@b:x')).toBeUndefined();
    open('@b:x');
    expect(sessions.refusal('@c:x')).toMatchObject({ message: 'At most 3 test sockets at once' });
  });

  it('closes a user who is no longer allowed 4403, a revoked token 4401, a slow reader 1013', async () => {
    let allowed = true;
    const { open, closes, revoke } = setup(async () => {
      if (!allowed) throw new MatrixError('M_FORBIDDEN', 403, 'Analytics are for server admins and analysts');
    });
    const demoted = open('@a:x');
    await vi.advanceTimersByTimeAsync(600);
    expect(demoted.closed).toBeUndefined();
    allowed = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(demoted.closed).toEqual({ code: 4403, reason: 'M_FORBIDDEN: Analytics are for server admins and analysts' });

    allowed = true;
    const revoked = open('@a:x');
    revoke();
    await vi.advanceTimersByTimeAsync(500);
    expect(revoked.closed).toEqual({ code: 4401, reason: 'M_UNKNOWN_TOKEN: Unknown access token' });

    const slow = open('@b:x', async (session) => {
      await Promise.resolve();
      session.send('first');
      (slow as FakeSocket).bufferedAmount = 101;
      session.send('second');
      session.send('never');
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(slow.sent).toEqual(['first', 'second']);
    expect(slow.closed).toEqual({ code: 1013, reason: 'slow reader: more than 100 bytes unread' });
    expect(closes).toEqual(['forbidden', 'token_revoked', 'slow_reader']);
  });

  it('waits at shutdown for the stream of a socket its client already closed', async () => {
    const { sessions, open } = setup(async () => undefined);
    // A stream still in a statement when its client leaves: the database must outlive it.
    let finish!: () => void;
    const left = open('@a:x', () => new Promise<void>((resolve) => { finish = resolve; }));
    left.emit('close');
    let closed = false;
    const server = { clients: new Set(), close: (done: () => void) => done() };
    const closing = sessions.close(server as unknown as WebSocketServer).then(() => { closed = true; });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(closed).toBe(false);
    finish();
    await closing;
    expect(closed).toBe(true);
  });

  it('cuts a peer that stops answering pings', async () => {
    const { open, closes } = setup(async () => undefined);
    const silent = open('@a:x');
    silent.ping = () => undefined;
    await vi.advanceTimersByTimeAsync(2_100);
    expect(silent.terminated).toBe(true);
    expect(closes).toEqual(['heartbeat']);
  });
});
