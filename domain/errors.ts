/**
 * The one error type use-cases throw for a client-visible failure. The gateway middleware renders
 * it as `{ errcode, error, ...extra }` with `status`.
 */
export class MatrixError extends Error {
  readonly errcode: string;
  readonly status: number;
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(errcode: string, status: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'MatrixError';
    this.errcode = errcode;
    this.status = status;
    this.extra = extra;
  }
}

export const isMatrixError = (error: unknown): error is MatrixError => error instanceof MatrixError;
