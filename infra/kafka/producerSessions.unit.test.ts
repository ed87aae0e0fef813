import { describe, expect, it } from 'vitest';
import { createProducerSessions, type ProducerLike } from './producerSessions.ts';

class FakeProducer implements ProducerLike {
  connects = 0;
  disconnects = 0;
  readonly id: number;
  private readonly failConnect: boolean;
  constructor(id: number, failConnect = false) {
    this.id = id;
    this.failConnect = failConnect;
  }
  async connect(): Promise<void> {
    this.connects++;
    if (this.failConnect) throw new Error(`producer ${this.id} cannot connect`);
  }
  async disconnect(): Promise<void> {
    this.disconnects++;
  }
}

describe('producer sessions', () => {
  it('keeps one producer while its requests succeed', async () => {
    const first = new FakeProducer(0);
    const created: FakeProducer[] = [];
    const sessions = createProducerSessions(first, () => { const p = new FakeProducer(created.length + 1); created.push(p); return p; });
    expect(await sessions.run(async (p) => p.id)).toBe(0);
    expect(await sessions.run(async (p) => p.id)).toBe(0);
    expect(created).toEqual([]);
    expect(first.connects).toBe(0);
  });

  it('retires the producer of a failed request and sends the next one through a new producer', async () => {
    const first = new FakeProducer(0);
    const created: FakeProducer[] = [];
    const retired: unknown[] = [];
    const sessions = createProducerSessions(first, () => { const p = new FakeProducer(created.length + 1); created.push(p); return p; },
      (error) => retired.push(error));
    await expect(sessions.run(async () => { throw new Error('request timed out'); })).rejects.toThrow('request timed out');
    expect(await sessions.run(async (p) => p.id)).toBe(1);
    expect(created.map((p) => p.connects)).toEqual([1]);
    await sessions.close();
    expect(first.disconnects).toBe(1);
    expect(created[0]!.disconnects).toBe(1);
    expect(retired).toHaveLength(1);
  });

  it('fails a request whose new producer cannot connect, and tries another on the next', async () => {
    const created: FakeProducer[] = [];
    const sessions = createProducerSessions(new FakeProducer(0), () => {
      const p = new FakeProducer(created.length + 1, created.length === 0);
      created.push(p);
      return p;
    });
    await expect(sessions.run(async () => { throw new Error('broker down'); })).rejects.toThrow('broker down');
    await expect(sessions.run(async (p) => p.id)).rejects.toThrow('producer 1 cannot connect');
    expect(await sessions.run(async (p) => p.id)).toBe(2);
  });
});
