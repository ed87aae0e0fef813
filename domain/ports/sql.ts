/**
 * The SQL port the read models use. PostgreSQL (pg) and the embedded PGlite both implement it, so
 * projections and queries are written once, in PostgreSQL's dialect, with $1-style parameters.
 */
export type SqlParam = string | number | bigint | boolean | null | Uint8Array | Date | readonly unknown[] | object;

export interface SqlStatement {
  readonly text: string;
  readonly values?: readonly SqlParam[];
  /**
   * Every value is an array of this statement's rows (the text reads them with `unnest`), so
   * consecutive statements with the same text may run as one with their arrays joined
   * (projections/runtime/positions.ts): a batch of rows then costs one statement, not one each.
   */
  readonly rows?: true;
  /**
   * With `rows`: the statement writes rows nothing else in its transaction reads or writes (a table
   * of its own), so where it runs in the transaction changes nothing, and all of a batch's
   * statements of its text are joined into one, run after the others (one per transaction, not
   * one per record).
   */
  readonly independent?: true;
}

export interface SqlResult<Row = Record<string, unknown>> {
  readonly rows: Row[];
  readonly rowCount: number;
}

export interface SqlExecutor {
  query<Row = Record<string, unknown>>(text: string, values?: readonly SqlParam[]): Promise<SqlResult<Row>>;
}

export interface TransactionOptions {
  /**
   * Nobody waits on this transaction (a projection catching up in the background): an adapter that
   * runs one statement at a time (PGlite) runs it after the statements that arrived while it
   * waited, so a request's statements do not queue behind it. It is still run, in order with the
   * caller's own; the adapters with a connection each (PostgreSQL) run it at once.
   */
  readonly deferrable?: boolean;
}

export interface SqlDatabase extends SqlExecutor {
  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Optional: runs `statements` in order in one transaction sent at once, COMMIT included (one
   * round trip where the adapter pipelines). Resolves with their results once committed; rejects
   * with the first failing statement's error, nothing committed.
   */
  transactionOf?(statements: readonly SqlStatement[], options?: TransactionOptions): Promise<SqlResult[]>;
  close(): Promise<void>;
}
