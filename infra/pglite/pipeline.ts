/**
 * Statements sent to PGlite the way a PostgreSQL driver pipelines them: every message of a plain
 * statement, or of a whole transaction, in one buffer, answered in one pass through the database.
 * PGlite's own `query` makes six passes per statement (parse, describe the statement, bind,
 * describe the portal, execute, sync), and in WebAssembly each pass costs about what a small
 * statement's execution does; it also parses and plans the text every time. Here a text used
 * before runs as a named prepared statement: PostgreSQL keeps its parse tree and plan (replanning
 * by itself when a table it reads changes), so the embedded read models, which run the same few
 * statements thousands of times, skip both.
 *
 * Runs in the PGlite worker thread (pgliteWorker.ts), under PGlite's own mutexes, so it never
 * interleaves with PGlite's `query`, `exec` or `transaction`.
 */
import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import type { SqlParam, SqlStatement } from '../../domain/ports/index.ts';

const { serialize } = protocol;

type Results = ReturnType<typeof parse.parseResults>;

/** Prepared statements kept at most; the least recently used is closed beyond it. */
export const PREPARED_STATEMENTS = 256;

/** A parameter as node-postgres sends it (the production driver), so both run the same SQL alike. */
export const wireParam = (value: SqlParam | undefined): string | Uint8Array | null => {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return arrayLiteral(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
};

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** A PostgreSQL array literal, every element quoted (the input function of any element type takes it). */
const arrayLiteral = (items: readonly unknown[]): string => `{${items.map((item) => {
  if (item === null || item === undefined) return 'NULL';
  if (Array.isArray(item)) return arrayLiteral(item);
  const text = item instanceof Uint8Array ? `\\x${hex(item)}` : item instanceof Date ? item.toISOString()
    : typeof item === 'object' ? JSON.stringify(item) : String(item);
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}).join(',')}}`;

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

/** PostgreSQL's answer when a prepared statement's result columns changed under it (a table altered). */
const STALE_PLAN = 'cached plan must not change result type';

export interface Pipeline {
  /**
   * Runs `statements` and answers their results in order. With `transaction` they run between
   * BEGIN and COMMIT, all or none; without, each commits on its own (use it for one statement).
   */
  run(statements: readonly SqlStatement[], options: { readonly transaction: boolean }): Promise<Results>;
}

export const createPipeline = (db: PGlite, maxPrepared = PREPARED_STATEMENTS): Pipeline => {
  /** Statement text → its prepared name, least recently used first. */
  const prepared = new Map<string, string>();
  /** Names to close (evicted, or possibly half-made by a failed pipeline) before the next one's own. */
  let closing: string[] = [];
  let nextName = 1;

  const forget = (text: string): void => {
    const name = prepared.get(text);
    if (name === undefined) return;
    prepared.delete(text);
    closing.push(name);
  };

  /** The messages that run one statement, preparing its text on first use; `made` collects new names. */
  const messagesOf = (statement: SqlStatement, made: Map<string, string>): Uint8Array[] => {
    let name = prepared.get(statement.text) ?? made.get(statement.text);
    const messages: Uint8Array[] = [];
    if (name === undefined) {
      name = `strata_${nextName++}`;
      made.set(statement.text, name);
      messages.push(serialize.parse({ name, text: statement.text }));
    } else if (prepared.delete(statement.text)) {
      prepared.set(statement.text, name);
    }
    messages.push(
      serialize.bind({ statement: name, values: (statement.values ?? []).map(wireParam) }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
    );
    return messages;
  };

  const once = async (statements: readonly SqlStatement[], transaction: boolean): Promise<Results> => {
    const made = new Map<string, string>();
    const closes = closing.map((name) => serialize.close({ type: 'S', name }));
    const body = statements.flatMap((statement) => messagesOf(statement, made));
    const begin = transaction ? messagesOf({ text: 'BEGIN' }, made) : [];
    const commit = transaction ? messagesOf({ text: 'COMMIT' }, made) : [];
    const buffer = concat([...closes, ...begin, ...body, ...commit, serialize.sync()]);
    closing = [];
    try {
      const results = parse.parseResults(await db.execProtocolStream(buffer, { syncToFs: false }), db.parsers);
      if (results.length !== statements.length + (transaction ? 2 : 0)) {
        throw new Error(`PGlite answered ${results.length} results for ${statements.length} statements`);
      }
      // Kept only once the pass is known good: the catch below closes what this pass made.
      for (const [text, name] of made) prepared.set(text, name);
      while (prepared.size > maxPrepared) forget(prepared.keys().next().value!);
      return transaction ? results.slice(1, -1) : results;
    } catch (error) {
      // After an error PostgreSQL skipped every message up to the Sync: which of this pipeline's
      // statements got prepared is unknown, so each is closed (closing a missing one is no error).
      closing.push(...made.values());
      // An explicit transaction is left open and failed: end it. The statement's error is the one
      // to report; if even the rollback fails, PGlite is unusable and says so on the next call.
      if (transaction) {
        await db.execProtocolStream(serialize.query('ROLLBACK'), { syncToFs: false, throwOnError: false }).catch(() => undefined);
      }
      throw error;
    }
  };

  return {
    run: (statements, { transaction }) => db._runExclusiveTransaction(() => db.runExclusive(async () => {
      // Inside the locks: a pipeline that waited behind close() fails as closing, not in the database.
      await db._checkReady();
      let results: Results;
      try {
        results = await once(statements, transaction);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.includes(STALE_PLAN)) throw error;
        // A table changed under a prepared statement: prepare everything again, once.
        for (const text of [...prepared.keys()]) forget(text);
        results = await once(statements, transaction);
      }
      await db.syncToFs();
      return results;
    })),
  };
};
