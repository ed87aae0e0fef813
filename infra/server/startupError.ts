/**
 * A start-up failure the operator can fix (bad config, a service that cannot be reached, a port in
 * use). Its message is printed as the one line on stderr, so it must say what and where, without a
 * stack trace.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/**
 * Another Strata process holds what this one must hold alone (the data directory, the writer
 * lease): tools such as `npm run rebuild` tell "stop the server first" apart from other failures.
 */
export class InUseError extends StartupError {
  constructor(message: string) {
    super(message);
    this.name = 'InUseError';
  }
}

export const reasonOf = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim();
};

/** Rejects with a StartupError when `work` has not settled within `ms`. */
export const withStartupDeadline = <T>(what: string, ms: number, work: Promise<T>): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StartupError(`${what}: no answer within ${ms / 1000} s`)), ms);
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });
