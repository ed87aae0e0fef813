/**
 * The SQL port on PGlite: PostgreSQL compiled to WebAssembly, running inside this process with its
 * data directory on disk. It is the default read-model store, so a single `npm start` needs no
 * database server.
 *
 * PGlite executes each statement, and its file I/O, synchronously on the thread that calls it. It
 * runs in a worker thread (pgliteWorker.ts), so the event loop serving HTTP, the log and the
 * projections never waits on PostgreSQL's CPU work or on its disk; statements and their results
 * cross by message (protocol.ts).
 *
 * PGlite has one connection. Its own mutex runs a transaction exclusively: plain queries issued
 * meanwhile wait until it commits or rolls back, so transactions are serialised, never interleaved.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { SqlDatabase, SqlExecutor, SqlParam, SqlResult, SqlStatement, TransactionOptions } from '../../domain/ports/index.ts';
import { unstorableTextError } from '../postgres/sqlTypes.ts';
import { decodeResult, deserializeError, type Reply, type Request, type WireResult } from './protocol.ts';

export interface PgliteOptions {
  /** Data directory; created if missing. One process at a time may open it. */
  readonly dir: string;
}

type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

interface Pending {
  readonly resolve: (value: Reply & { ok: true }) => void;
  readonly reject: (error: unknown) => void;
}

export const createPgliteDatabase = async (options: PgliteOptions): Promise<SqlDatabase> => {
  await mkdir(options.dir, { recursive: true });
  const worker = new Worker(new URL('./pgliteWorker.ts', import.meta.url));
  const pending = new Map<number, Pending>();
  let nextId = 1;
  /** Set once the worker is gone (closed, crashed or exited): every later call fails with it. */
  let gone: Error | undefined;

  const settleAll = (error: Error): void => {
    gone ??= error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  worker.on('message', (reply: Reply) => {
    const waiting = pending.get(reply.id);
    if (waiting === undefined) return;
    pending.delete(reply.id);
    // An idle database must not keep the process alive; one awaiting an answer must.
    if (pending.size === 0) worker.unref();
    if (reply.ok) waiting.resolve(reply);
    else waiting.reject(unstorableTextError(deserializeError(reply.error)));
  });
  worker.on('error', (error) => settleAll(error));
  // After close() the exit is the one asked for: what the worker left unanswered fails as closed.
  worker.on('exit', (code) => settleAll(gone ?? new Error(`PGlite: its worker thread exited (code ${code})`)));

  const call = (body: RequestBody): Promise<Reply & { ok: true }> => {
    if (gone !== undefined) return Promise.reject(gone);
    const id = nextId++;
    if (pending.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...body, id } as Request);
    });
  };

  try {
    await call({ op: 'open', dir: options.dir });
  } catch (error) {
    await worker.terminate();
    throw error;
  }

  // With one connection, using the database instead of `tx` inside a transaction would wait for the
  // transaction itself forever; fail fast instead.
  const inTransaction = new AsyncLocalStorage<true>();
  const outsideTransaction = (what: string): void => {
    if (inTransaction.getStore()) {
      throw new Error(`PGlite: ${what} called inside a transaction; use the transaction's executor`);
    }
  };

  const run = async <Row>(text: string, values: readonly SqlParam[] | undefined, tx?: number): Promise<SqlResult<Row>> => {
    const reply = await call({ op: 'query', text, ...(values === undefined ? {} : { values }), ...(tx === undefined ? {} : { tx }) });
    return decodeResult<Row>(reply.value as WireResult);
  };

  const query = async <Row = Record<string, unknown>>(text: string, values?: readonly SqlParam[]) => {
    outsideTransaction('query');
    return run<Row>(text, values);
  };

  const transaction = async <T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> => {
    outsideTransaction('transaction');
    const tx = (await call({ op: 'begin' })).value as number;
    const executor: SqlExecutor = { query: (text, values) => run(text, values, tx) };
    let value: T;
    try {
      value = await inTransaction.run(true, () => work(executor));
    } catch (error) {
      // The work's error is the one to report; a failed rollback leaves the worker gone anyway.
      await call({ op: 'end', tx, commit: false }).catch(() => undefined);
      throw error;
    }
    await call({ op: 'end', tx, commit: true });
    return value;
  };

  // One message for the whole transaction instead of one per statement.
  const transactionOf = async (statements: readonly SqlStatement[], options?: TransactionOptions): Promise<SqlResult[]> => {
    outsideTransaction('transactionOf');
    const reply = await call({ op: 'batch', statements, ...(options?.deferrable === true ? { deferrable: true } : {}) });
    return (reply.value as WireResult[]).map((result) => decodeResult(result));
  };

  const close = async (): Promise<void> => {
    if (gone !== undefined) return;
    await call({ op: 'close' });
    gone = new Error('PGlite is closed');
    await worker.terminate();
  };

  return { query, transaction, transactionOf, close };
};
