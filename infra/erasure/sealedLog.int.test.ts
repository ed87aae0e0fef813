import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ContentKeyStore, LogEntry, LogValue, RoomLog } from '../../domain/index.ts';
import { createEmbeddedLog } from '../embedded/index.ts';
import { withSealedContent } from './sealedLog.ts';
import { newDataKey, newKeyId, SEALED_HEADER } from './sealing.ts';

const TOPIC = 'room.events';
const ROOM = '!r:example.org';

/** Keys in memory; destroying by event id is what these tests need of erasure. */
const memoryKeys = (): ContentKeyStore => {
  const held = new Map<string, { key: Uint8Array; eventId: string }>();
  return {
    async reserve(uses) {
      return uses.map((use) => {
        const made = { keyId: newKeyId(), key: newDataKey() };
        held.set(made.keyId, { key: made.key, eventId: use.eventId });
        return made;
      });
    },
    async lookup(keyIds) {
      return new Map(keyIds.flatMap((keyId) => {
        const found = held.get(keyId);
        return found === undefined ? [] : [[keyId, found.key] as const];
      }));
    },
    async destroyOwnedBy() {
      return 0;
    },
    async destroyForEvents(eventIds) {
      let count = 0;
      for (const [keyId, entry] of held) if (eventIds.includes(entry.eventId)) count += Number(held.delete(keyId));
      return count;
    },
  };
};

const accepted = (n: number): LogValue => ({
  type: 'pdu.accepted', v: 2, roomId: ROOM, roomVersion: '10', eventId: `$e${n}`,
  pdu: {
    type: 'm.room.message', room_id: ROOM, sender: '@alice:example.org', depth: n, origin_server_ts: n,
    prev_events: [], auth_events: [], hashes: { sha256: 'h' }, signatures: {},
    content: { msgtype: 'm.text', body: `secret ${n} é \u2028` },
  },
  stateDelta: [], prevAcceptedEventId: null, forwardExtremities: [`$e${n}`],
  local: { userId: '@alice:example.org', deviceId: 'D', txnId: `t${n}` }, acceptedAt: n, redaction: null, redactedBy: [],
} as unknown as LogValue);

const bodyOf = (entry: LogEntry): unknown => ((entry.value as { pdu: { content: { body?: unknown } } }).pdu.content.body);

describe('the sealed log remembers what it opened', () => {
  const dirs: string[] = [];
  const logs: RoomLog[] = [];
  const openLog = async (): Promise<RoomLog> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strata-sealed-'));
    dirs.push(dir);
    const log = await createEmbeddedLog({ dir });
    logs.push(log);
    await log.ensureTopic(TOPIC, 1);
    return log;
  };
  afterAll(async () => {
    for (const log of logs) await log.close();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('hands every reader of a record the value as appended, once opened, frozen', async () => {
    const plain = await openLog();
    const keys = memoryKeys();
    const sealed = withSealedContent(plain, { topic: TOPIC, keys });
    // Appended by another process: this one has to open it.
    const elsewhere = withSealedContent(plain, { topic: TOPIC, keys });
    await elsewhere.append(TOPIC, [{ key: ROOM, value: accepted(1) }]);
    // Appended here: remembered as appended.
    await sealed.append(TOPIC, [{ key: ROOM, value: accepted(2) }]);

    // In the log itself, the content is sealed.
    const raw = await plain.read(TOPIC, 0, 0, 10);
    expect(JSON.stringify(raw.map((entry) => entry.value))).not.toContain('secret');

    const first = await sealed.read(TOPIC, 0, 0, 10);
    expect(first.map(bodyOf)).toEqual(['secret 1 é \u2028', 'secret 2 é \u2028']);
    const second = await sealed.read(TOPIC, 0, 0, 10);
    // One object per record, whichever reader asks, and nobody can change it under the others.
    expect(second[0]!.value).toBe(first[0]!.value);
    expect(second[1]!.value).toBe(first[1]!.value);
    expect(Object.isFrozen(first[1]!.value)).toBe(true);
    expect(() => {
      ((first[1]!.value as { pdu: { content: Record<string, unknown> } }).pdu.content).body = 'changed';
    }).toThrow(TypeError);

    // Exactly what a process that remembers nothing opens from the log.
    const forgetful = withSealedContent(plain, { topic: TOPIC, keys, openedRecords: 0 });
    const opened = await forgetful.read(TOPIC, 0, 0, 10);
    expect(opened.map((entry) => entry.value)).toEqual(first.map((entry) => entry.value));
    expect(JSON.stringify(opened.map((entry) => entry.value))).toBe(JSON.stringify(first.map((entry) => entry.value)));
    expect(opened[0]!.value).not.toBe((await forgetful.read(TOPIC, 0, 0, 1))[0]!.value);
  });

  it('serves a remembered record redacted once its key is destroyed', async () => {
    const plain = await openLog();
    const keys = memoryKeys();
    const sealed = withSealedContent(plain, { topic: TOPIC, keys });
    await sealed.append(TOPIC, [{ key: ROOM, value: accepted(1) }, { key: ROOM, value: accepted(2) }]);
    expect((await sealed.read(TOPIC, 0, 0, 10)).map(bodyOf)).toEqual(['secret 1 é \u2028', 'secret 2 é \u2028']);

    expect(await keys.destroyForEvents(['$e1'])).toBe(1);
    const after = await sealed.read(TOPIC, 0, 0, 10);
    expect(after.map(bodyOf)).toEqual([undefined, 'secret 2 é \u2028']);
    expect(JSON.stringify(after[0]!.value)).not.toContain('secret');

    // Delivered to a consumer the same way.
    const delivered: LogEntry[] = [];
    const subscription = await sealed.subscribe({ group: 'readers', topic: TOPIC }, {
      onAssigned: async (_topic, partitions) => new Map(partitions.map((partition) => [partition, 0])),
      onRevoked: async () => undefined,
      onBatch: async (batch) => void delivered.push(...batch.entries),
    });
    await expect.poll(() => delivered.length).toBe(2);
    await subscription.stop();
    expect(delivered.map(bodyOf)).toEqual([undefined, 'secret 2 é \u2028']);
  });
});

describe('the sealed log pipelines a writer’s appends', () => {
  it('takes the keys of an append at once, and appends its records only after the append before it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strata-sealed-'));
    const plain = await createEmbeddedLog({ dir });
    try {
      await plain.ensureTopic(TOPIC, 1);
      const keys = memoryKeys();
      const stored: string[] = [];
      const sealed = withSealedContent(plain, {
        topic: TOPIC,
        keys: { ...keys, reserve: async (uses) => { stored.push(...uses.map((use) => use.eventId)); return keys.reserve(uses); } },
      });
      let release: () => void = () => undefined;
      const before = new Promise<void>((resolve) => (release = resolve));
      const pipelined = sealed.append(TOPIC, [{ key: ROOM, value: accepted(2) }], { after: before });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(stored).toEqual(['$e2']);
      expect(await plain.endOffset(TOPIC, 0)).toBe(0);
      release();
      // The answer names the key id the record is delivered with.
      const [position] = await pipelined;
      const [entry] = await sealed.read(TOPIC, 0, 0, 10);
      expect(position).toEqual({ partition: 0, offset: 0, headers: { [SEALED_HEADER]: entry!.headers[SEALED_HEADER] } });
      expect(bodyOf(entry!)).toEqual('secret 2 é \u2028');

      // Behind a failed append, nothing is written; the stored key seals nothing.
      const refused = sealed.append(TOPIC, [{ key: ROOM, value: accepted(3) }], { after: Promise.reject(new Error('lost')) });
      await expect(refused).rejects.toThrow('lost');
      expect(stored).toEqual(['$e2', '$e3']);
      expect(await plain.endOffset(TOPIC, 0)).toBe(1);
    } finally {
      await plain.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
