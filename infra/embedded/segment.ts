/**
 * One partition of the embedded log: a single append-only segment file.
 *
 * Record framing: `u32be length | u32be crc32(payload) | payload`, the payload being UTF-8 JSON
 * `{ offset, timestamp, key, headers, value }`. On open the file is scanned once to build a sparse
 * in-memory index (the byte position of every INDEX_INTERVAL-th offset); a torn or corrupt tail
 * (a crash in the middle of a write) is cut off at the first invalid frame. Appends are group
 * committed: offsets are assigned in call order, and every write waiting when the disk is free goes
 * out in one write + one fdatasync. Readers only see acknowledged (synced) records, like Kafka's
 * high watermark.
 *
 * The newest acknowledged frames stay in memory (up to TAIL_RECORDS / TAIL_BYTES): every consumer
 * group reads each record right after it is acknowledged, so those reads are served without a file
 * read each (four to five groups read every room record); older offsets come from the file.
 */
import { constants, type promises as fsp } from 'node:fs';
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { LogEntry, LogRecordToAppend, LogValue } from '../../domain/ports/index.ts';

const HEADER_BYTES = 8;
const INDEX_INTERVAL = 32;
const SCAN_CHUNK = 1 << 20;
/**
 * A frame longer than this is treated as garbage left by a torn write, so a longer record is
 * refused on append: written, it would be cut off on the next open with every record after it.
 */
const MAX_RECORD_BYTES = 64 << 20;
/** Bounds of the in-memory tail, per segment (partition). */
const TAIL_RECORDS = 1024;
const TAIL_BYTES = 1 << 20;

export interface SegmentRecovery {
  readonly path: string;
  /** Bytes cut off the end of the file because they did not hold a complete, valid record. */
  readonly truncatedBytes: number;
  readonly validBytes: number;
}

/** Records framed for a segment's next offsets (Segment#encode). */
export interface EncodedRecords {
  readonly base: number;
  readonly frames: readonly Buffer[];
}

interface PendingWrite {
  readonly frames: readonly Buffer[];
  readonly byteLength: number;
  readonly lastOffset: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const encodeFrame = (payload: Buffer): Buffer => {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
};

export class Segment {
  readonly path: string;
  readonly #file: fsp.FileHandle;
  /** index[i] = byte position of offset i * INDEX_INTERVAL. */
  readonly #index: number[] = [];
  /** Next offset to assign and byte position to write at (includes writes not yet synced). */
  #nextOffset = 0;
  #writeEnd = 0;
  /** Acknowledged end: offset one past the newest synced record, and its byte position. */
  #durableOffset = 0;
  #durableBytes = 0;
  #queue: PendingWrite[] = [];
  #flushing = false;
  #flushRun: Promise<void> = Promise.resolve();
  #failure: unknown = undefined;
  #closed = false;
  #waiters: Array<() => void> = [];
  /** Frames of the newest acknowledged records, oldest first; #tail[0] holds offset #tailStart. */
  #tail: Buffer[] = [];
  #tailStart = 0;
  #tailBytes = 0;

  private constructor(path: string, file: fsp.FileHandle) {
    this.path = path;
    this.#file = file;
  }

  /** Opens (creating if needed) a segment file, recovering from a torn tail. */
  static async open(path: string): Promise<{ segment: Segment; recovery?: SegmentRecovery }> {
    const file = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    const segment = new Segment(path, file);
    try {
      const recovery = await segment.#scan();
      return recovery === undefined ? { segment } : { segment, recovery };
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  get endOffset(): number {
    return this.#durableOffset;
  }

  async #scan(): Promise<SegmentRecovery | undefined> {
    const size = (await this.#file.stat()).size;
    let buffer = Buffer.alloc(0);
    let bufferStart = 0;
    let position = 0;
    let offset = 0;
    // Makes [position, position + length) available in `buffer`; false at end of file.
    const ensure = async (length: number): Promise<boolean> => {
      if (position + length > size) return false;
      if (position + length <= bufferStart + buffer.length) return true;
      const keep = buffer.subarray(position - bufferStart);
      const want = Math.min(size - position, Math.max(length, SCAN_CHUNK));
      const next = Buffer.allocUnsafe(want);
      keep.copy(next);
      const { bytesRead } = await this.#file.read(next, keep.length, want - keep.length, position + keep.length);
      buffer = next.subarray(0, keep.length + bytesRead);
      bufferStart = position;
      return position + length <= bufferStart + buffer.length;
    };
    while (await ensure(HEADER_BYTES)) {
      const at = position - bufferStart;
      const length = buffer.readUInt32BE(at);
      const checksum = buffer.readUInt32BE(at + 4);
      if (length > MAX_RECORD_BYTES || !(await ensure(HEADER_BYTES + length))) break;
      const start = position - bufferStart + HEADER_BYTES;
      if (crc32(buffer.subarray(start, start + length)) !== checksum) break;
      if (offset % INDEX_INTERVAL === 0) this.#index.push(position);
      position += HEADER_BYTES + length;
      offset += 1;
    }
    this.#nextOffset = this.#durableOffset = this.#tailStart = offset;
    this.#writeEnd = this.#durableBytes = position;
    if (position === size) return undefined;
    await this.#file.truncate(position);
    await this.#file.sync();
    return { path: this.path, truncatedBytes: size - position, validBytes: position };
  }

  /**
   * Frames `records` for the next offsets without touching state, so a log appending to several
   * segments at once can fail (a record too large) before any of them is written. Append the
   * result before anything else is appended to this segment.
   */
  encode(records: readonly LogRecordToAppend[], timestamp: number): EncodedRecords {
    if (this.#closed) throw new Error(`segment ${this.path} is closed`);
    if (this.#failure !== undefined) throw this.#failure;
    const base = this.#nextOffset;
    const frames = records.map((record, i) => {
      const payload = Buffer.from(JSON.stringify({
        offset: base + i, timestamp, key: record.key, headers: record.headers ?? {}, value: record.value,
      }));
      if (payload.length > MAX_RECORD_BYTES) throw new RangeError(`embedded log: a ${payload.length}-byte record exceeds the ${MAX_RECORD_BYTES}-byte record limit`);
      return encodeFrame(payload);
    });
    return { base, frames };
  }

  /**
   * Assigns offsets synchronously (so callers keep their call order) and returns them with a
   * promise that resolves once the records are synced.
   */
  append({ base, frames }: EncodedRecords): { offsets: number[]; written: Promise<void> } {
    if (this.#closed) throw new Error(`segment ${this.path} is closed`);
    if (this.#failure !== undefined) throw this.#failure;
    if (base !== this.#nextOffset) throw new Error(`segment ${this.path}: records framed for offset ${base}, next is ${this.#nextOffset}`);
    const offsets: number[] = [];
    let byteLength = 0;
    for (const frame of frames) {
      const offset = this.#nextOffset++;
      if (offset % INDEX_INTERVAL === 0) this.#index.push(this.#writeEnd + byteLength);
      byteLength += frame.length;
      offsets.push(offset);
    }
    this.#writeEnd += byteLength;
    const written = new Promise<void>((resolve, reject) => {
      this.#queue.push({ frames, byteLength, lastOffset: this.#nextOffset - 1, resolve, reject });
    });
    if (!this.#flushing) this.#flushRun = this.#flush();
    return { offsets, written };
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          if (this.#failure !== undefined) throw this.#failure;
          const data = Buffer.concat(batch.flatMap((write) => write.frames));
          let written = 0;
          while (written < data.length) {
            const { bytesWritten } = await this.#file.write(data, written, data.length - written, this.#durableBytes + written);
            written += bytesWritten;
          }
          await this.#file.datasync();
          this.#durableBytes += data.length;
          this.#durableOffset = batch[batch.length - 1].lastOffset + 1;
          this.#keepInTail(batch);
          for (const write of batch) write.resolve();
          this.#notify();
        } catch (error) {
          // Later offsets were assigned assuming these records land; the segment must be reopened.
          this.#failure ??= error;
          for (const write of batch) write.reject(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Appends a synced batch's frames to the in-memory tail, dropping its oldest past the bounds. */
  #keepInTail(batch: readonly PendingWrite[]): void {
    for (const write of batch) {
      for (const frame of write.frames) this.#tail.push(frame);
      this.#tailBytes += write.byteLength;
    }
    let drop = 0;
    while (drop < this.#tail.length && (this.#tail.length - drop > TAIL_RECORDS || this.#tailBytes > TAIL_BYTES)) {
      this.#tailBytes -= this.#tail[drop].length;
      drop += 1;
    }
    if (drop > 0) {
      this.#tail.splice(0, drop);
      this.#tailStart += drop;
    }
  }

  #decode(topic: string, partition: number, offset: number, buffer: Buffer, at: number, length: number): LogEntry {
    const raw = JSON.parse(buffer.toString('utf8', at + HEADER_BYTES, at + HEADER_BYTES + length)) as {
      offset: number; timestamp: number; key: string; headers: Record<string, string>; value: LogValue;
    };
    if (raw.offset !== offset) throw new Error(`segment ${this.path}: expected offset ${offset}, found ${raw.offset}`);
    return { topic, partition, offset, key: raw.key, value: raw.value, headers: raw.headers, timestamp: raw.timestamp };
  }

  /** Reads up to `max` acknowledged entries from `fromOffset`. */
  async read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogEntry[]> {
    const end = Math.min(this.#durableOffset, fromOffset + max);
    if (fromOffset >= end || max <= 0) return [];
    if (fromOffset < 0) throw new RangeError(`negative offset ${fromOffset}`);
    if (fromOffset >= this.#tailStart) {
      const entries: LogEntry[] = [];
      for (let offset = fromOffset; offset < end; offset++) {
        const frame = this.#tail[offset - this.#tailStart];
        entries.push(this.#decode(topic, partition, offset, frame, 0, frame.length - HEADER_BYTES));
      }
      return entries;
    }
    const firstSlot = Math.floor(fromOffset / INDEX_INTERVAL);
    const lastSlot = Math.ceil(end / INDEX_INTERVAL);
    const start = this.#index[firstSlot];
    const stop = Math.min(this.#index[lastSlot] ?? this.#durableBytes, this.#durableBytes);
    const buffer = Buffer.allocUnsafe(stop - start);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await this.#file.read(buffer, filled, buffer.length - filled, start + filled);
      if (bytesRead === 0) throw new Error(`segment ${this.path} is shorter than its index`);
      filled += bytesRead;
    }
    const entries: LogEntry[] = [];
    let at = 0;
    let offset = firstSlot * INDEX_INTERVAL;
    while (offset < end) {
      const length = buffer.readUInt32BE(at);
      if (offset >= fromOffset) entries.push(this.#decode(topic, partition, offset, buffer, at, length));
      at += HEADER_BYTES + length;
      offset += 1;
    }
    return entries;
  }

  /** Resolves on the next acknowledged append (or close); lets consumers wait without polling. */
  nextAppend(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Waits for queued writes, then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#flushRun;
    this.#notify();
    await this.#file.close();
  }
}
