/**
 * The worker thread that runs PGlite for pgliteDatabase.ts. PGlite executes PostgreSQL (WebAssembly)
 * and its file I/O synchronously on the thread that calls it; here that thread is not the server's
 * event loop, so HTTP, the log and the projections keep running while a statement executes.
 *
 * Requests are handled as they arrive, concurrently: PGlite's own mutex serialises them, and a plain
 * statement waits while a transaction is open. A deferrable batch (a projection's fetched batch
 * that nobody waits on) is held until the event loop's check phase, one per turn, so the requests
 * that arrived meanwhile run first: a send's or a /sync's statement no longer queues behind the
 * search projection's transactions, a quarter of the work at 200 messages/s. Plain statements and
 * statement lists go through pipeline.ts (one pass through PGlite each, prepared statements);
 * statements of an open interactive transaction run on it through PGlite's own `query`.
 */
import { parentPort } from 'node:worker_threads';
import { PGlite, types, type Results, type Transaction } from '@electric-sql/pglite';
import type { SqlParam } from '../../domain/ports/index.ts';
import { parseInt8, rowCountOf } from '../postgres/sqlTypes.ts';
import { createPipeline, type Pipeline } from './pipeline.ts';
import { serializeError, type Reply, type Request, type WireResult } from './protocol.ts';

interface OpenTransaction {
  readonly tx: Transaction;
  /** Ends the transaction's callback: resolves to commit, rejects to roll back. */
  readonly finish: (commit: boolean) => void;
  /** The `end` request to answer once the commit or rollback is done. */
  endId?: number;
}

const port = parentPort;
if (port === null) throw new Error('pgliteWorker.ts runs as a worker thread');

/** Thrown inside PGlite's transaction callback to make it roll back; not an error to report. */
const ROLLBACK = Symbol('rollback');

let pglite: PGlite | undefined;
let pipeline: Pipeline | undefined;
let closed = false;
let nextTransaction = 1;
const transactions = new Map<number, OpenTransaction>();

const reply = (message: Reply): void => port.postMessage(message);
const fail = (id: number, error: unknown): void => reply({ id, ok: false, error: serializeError(error) });

/** json and jsonb stay text here: the adapter parses them (see WireResult). */
const asText = (text: string): string => text;
const JSON_TYPES: ReadonlySet<number> = new Set([types.JSON, types.JSONB]);

/** A PGlite result as it crosses the thread. */
const wireResult = (result: Results): WireResult => {
  const json = result.fields.filter((field) => JSON_TYPES.has(field.dataTypeID)).map((field) => field.name);
  return {
    rows: result.rows as Record<string, unknown>[],
    // `affectedRows` adds up the counts of every result of one pass: each statement's own is `rowCount`.
    rowCount: rowCountOf(result.rowCount, result.rows),
    ...(json.length === 0 ? {} : { json }),
  };
};

/** A statement inside an open interactive transaction, through PGlite's own `query`. */
const run = async (target: Transaction, text: string, values?: readonly SqlParam[]): Promise<WireResult> =>
  wireResult(await target.query<Record<string, unknown>>(text, values === undefined ? undefined : [...values]));

const notOpen = (): Error => new Error(closed ? 'PGlite is closed' : 'PGlite is not open');

const database = (): PGlite => {
  if (pglite === undefined) throw notOpen();
  return pglite;
};

const pipelined = (): Pipeline => {
  if (pipeline === undefined) throw notOpen();
  return pipeline;
};

const begin = (id: number): void => {
  const number = nextTransaction++;
  let opened = false;
  const done = database().transaction(async (tx) => {
    opened = true;
    const commit = await new Promise<boolean>((finish) => {
      transactions.set(number, { tx, finish });
      reply({ id, ok: true, value: number });
    });
    if (!commit) throw ROLLBACK;
  });
  done.then(
    () => {
      const endId = transactions.get(number)?.endId;
      transactions.delete(number);
      if (endId !== undefined) reply({ id: endId, ok: true });
    },
    (error: unknown) => {
      const endId = transactions.get(number)?.endId;
      transactions.delete(number);
      if (!opened) fail(id, error);
      else if (endId !== undefined && error === ROLLBACK) reply({ id: endId, ok: true });
      else if (endId !== undefined) fail(endId, error);
    },
  );
};

const handle = async (request: Request): Promise<void> => {
  switch (request.op) {
    case 'open':
      // relaxedDurability stays off: every statement reaches the files before its promise resolves,
      // so a killed process loses nothing that was reported committed.
      pglite = await PGlite.create({ dataDir: request.dir, parsers: { [types.INT8]: parseInt8, [types.JSON]: asText, [types.JSONB]: asText } });
      pipeline = createPipeline(pglite);
      reply({ id: request.id, ok: true });
      return;
    case 'query': {
      if (request.tx === undefined) {
        const [result] = await pipelined().run([{ text: request.text, ...(request.values === undefined ? {} : { values: request.values }) }], { transaction: false });
        reply({ id: request.id, ok: true, value: wireResult(result!) });
        return;
      }
      const open = transactions.get(request.tx);
      if (open === undefined || open.endId !== undefined) throw new Error(`PGlite: transaction ${request.tx} is over`);
      reply({ id: request.id, ok: true, value: await run(open.tx, request.text, request.values) });
      return;
    }
    case 'begin':
      begin(request.id);
      return;
    case 'end': {
      const open = transactions.get(request.tx);
      if (open === undefined || open.endId !== undefined) throw new Error(`PGlite: transaction ${request.tx} is over`);
      open.endId = request.id;
      open.finish(request.commit);
      return;
    }
    case 'batch': {
      const results = await pipelined().run(request.statements, { transaction: true });
      reply({ id: request.id, ok: true, value: results.map(wireResult) });
      return;
    }
    case 'close': {
      // Statements that arrive while PGlite closes are refused as closed rather than left unanswered.
      const closing = pglite;
      pglite = undefined;
      pipeline = undefined;
      closed = true;
      await closing?.close();
      reply({ id: request.id, ok: true });
      return;
    }
  }
};

const start = (request: Request): void => {
  handle(request).catch((error: unknown) => fail(request.id, error));
};

/**
 * Deferrable batches in arrival order (and a close that came behind them, which must not refuse
 * them). The messages that arrived are all delivered in the poll phase, each run to its end there
 * (PGlite runs synchronously), before setImmediate's check phase.
 */
const deferred: Request[] = [];
const runDeferred = (): void => {
  start(deferred.shift()!);
  if (deferred.length > 0) setImmediate(runDeferred);
};

port.on('message', (request: Request) => {
  const defer = request.op === 'batch' ? request.deferrable === true : request.op === 'close' && deferred.length > 0;
  if (!defer) {
    start(request);
    return;
  }
  deferred.push(request);
  if (deferred.length === 1) setImmediate(runDeferred);
});
