/**
 * Runs the real server process (`sh infra/node/start.sh`, what `npm start` runs after its build)
 * for e2e tests, the way an operator would: configured through STRATA_* variables, JSON log lines on stdout, one-line
 * failures on stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export type LogLine = Record<string, unknown> & { msg?: string };

export interface ExitResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly logs: LogLine[];
  readonly stderr: string;
}

export interface RunningServer {
  readonly url: string;
  readonly logs: LogLine[];
  readonly child: ChildProcess;
  /** Sends the signal and resolves with how the process ended. */
  stop(signal?: NodeJS.Signals): Promise<ExitResult>;
}

const spawnServer = (env: Record<string, string>) => {
  const child = spawn('sh', ['infra/node/start.sh'], {
    cwd: repoRoot,
    // Only what the test passes (plus PATH/HOME/NODE_OPTIONS to find and run Node): no STRATA_*
    // leaking in from the developer's shell.
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...(process.env.NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS: process.env.NODE_OPTIONS }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited: Promise<ExitResult> = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null, signal: signal as NodeJS.Signals | null, logs, stderr,
  }));
  return { child, logs, exited, stderrSoFar: () => stderr };
};

/** Runs the server until it exits on its own (start-up failures). */
export const runUntilExit = async (env: Record<string, string>, timeoutMs = 90_000): Promise<ExitResult> => {
  const { child, exited } = spawnServer(env);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
};

/** Starts the server and resolves once it logs that it listens (STRATA_LISTEN may use port 0). */
export const startServer = async (env: Record<string, string>, timeoutMs = 90_000): Promise<RunningServer> => {
  const { child, logs, exited, stderrSoFar } = spawnServer(env);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const listening = logs.find((line) => typeof line.listen === 'string' && line.msg?.startsWith('listening'));
    if (listening !== undefined) {
      return {
        url: `http://${String(listening.listen)}`,
        logs,
        child,
        stop: async (signal = 'SIGTERM') => {
          child.kill(signal);
          return exited;
        },
      };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start (exit ${child.exitCode}): ${stderrSoFar()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

/** A loopback port nothing listens on right now. */
export const closedPort = async (): Promise<number> => {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
};
