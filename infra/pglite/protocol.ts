/**
 * Messages between the PGlite adapter (pgliteDatabase.ts) and the worker thread that runs PGlite
 * (pgliteWorker.ts). Every request carries an id; the worker answers each with one Reply of that id.
 */
import type { SqlParam, SqlResult, SqlStatement } from '../../domain/ports/index.ts';

export type Request =
  | { readonly id: number; readonly op: 'open'; readonly dir: string }
  /** A statement on its own, or inside the open transaction `tx`. */
  | { readonly id: number; readonly op: 'query'; readonly text: string; readonly values?: readonly SqlParam[]; readonly tx?: number }
  /** Opens a transaction; the reply's value is its number. */
  | { readonly id: number; readonly op: 'begin' }
  | { readonly id: number; readonly op: 'end'; readonly tx: number; readonly commit: boolean }
  /**
   * Statements run in one transaction, COMMIT included; the reply's value is their results.
   * `deferrable`: run after the requests that arrived while it waited (TransactionOptions).
   */
  | { readonly id: number; readonly op: 'batch'; readonly statements: readonly SqlStatement[]; readonly deferrable?: boolean }
  | { readonly id: number; readonly op: 'close' };

/**
 * An error as it crosses the thread: its message, name, stack and own primitive fields (a
 * database error's SQLSTATE `code`, `detail`, `constraint`...), which callers classify by.
 */
export interface SerializedError {
  readonly message: string;
  readonly name: string;
  readonly stack?: string;
  readonly fields: Record<string, string | number | boolean | null>;
}

/**
 * A statement's result as it crosses: json and jsonb columns (named in `json`) still as their text,
 * parsed on arrival. A string copies at memcpy speed where a parsed document is cloned node by
 * node, and that clone was the worker's largest cost after PostgreSQL itself.
 */
export interface WireResult extends SqlResult {
  readonly json?: readonly string[];
}

export type Reply =
  | { readonly id: number; readonly ok: true; readonly value?: WireResult | readonly WireResult[] | number }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError };

export const serializeError = (error: unknown): SerializedError => {
  if (!(error instanceof Error)) return { message: String(error), name: 'Error', fields: {} };
  const fields: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(error)) {
    // Functions and objects (a failed query's parsers and parameters) do not cross, and are not needed.
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return { message: error.message, name: error.name, fields, ...(error.stack === undefined ? {} : { stack: error.stack }) };
};

export const deserializeError = (serialized: SerializedError): Error => {
  const error = Object.assign(new Error(serialized.message), serialized.fields);
  error.name = serialized.name;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return error;
};

/** Parses the json and jsonb columns a WireResult carries as text. */
export const decodeResult = <Row>(wire: WireResult): SqlResult<Row> => {
  const { json } = wire;
  if (json !== undefined) {
    for (const row of wire.rows) {
      for (const column of json) {
        const text = row[column];
        if (typeof text === 'string') row[column] = JSON.parse(text);
      }
    }
  }
  return { rows: wire.rows as Row[], rowCount: wire.rowCount };
};
