/**
 * `npm run bench cs -- --url URL --shared-secret S [...]`: message delivery through the
 * client-server API. Senders PUT m.room.message at an open-loop rate while listeners long-poll
 * /sync; latency is from the start of the send to the sync response that carried the message.
 * With a baseline (--baseline-url or --start-synapse) the same scenario runs against it, one
 * server after the other, and both are printed side by side. See docs/benchmarks.md.
 */
import { writeFileSync } from 'node:fs';
import { benchOptions, startWatchdog } from '../runner.ts';
import { parseCsBenchArgs, SYNAPSE_URL, usage, type CsBenchOptions, type Target } from './options.ts';
import { newRunId } from './population.ts';
import { errorLines, printComparison, summaryLines } from './report.ts';
import { runServer, type ServerResult } from './scenario.ts';
import { ensureSynapse, stopSynapse, synapseDatabase } from './synapse.ts';
import { TRACE_HEADER } from './tracker.ts';

const say = (line: string) => void process.stderr.write(`${line}\n`);

const shape = (o: CsBenchOptions): string =>
  `${o.membersSend ? 'members send' : `${o.clients} senders`}, ${o.rooms} rooms × ${o.listenersPerRoom} listeners, ` +
  (o.filter ? `filtered /sync (m.room.message, timeline limit ${o.timelineLimit})` : 'unfiltered /sync');

export const run = async (args: string[]): Promise<void> => {
  const options = benchOptions('cs', usage, () => parseCsBenchArgs(args, process.env));
  if (options === undefined) return;
  const watchdog = startWatchdog('cs', options.maxRuntimeSeconds, 10_000);

  let startedSynapse = false;
  const results: ServerResult[] = [];
  let targets: readonly Target[] = options.targets;
  try {
    if (options.startSynapse) {
      try {
        startedSynapse = ensureSynapse();
      } catch (error) {
        say(`error: bench cs: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
        return;
      }
      const database = synapseDatabase();
      say(`bench cs: Synapse baseline on ${database}`);
      targets = targets.map((t) => (t.url === SYNAPSE_URL && t.database === undefined ? { ...t, database } : t));
    }
    const runId = newRunId();
    if (options.tracePath !== undefined) writeFileSync(options.tracePath, `${TRACE_HEADER}\n`);
    say(`bench cs: run ${runId}; ${shape(options)}, ` +
      `${options.durationSeconds} s per rate, ${options.findMax ? `find-max from ${options.rates[0]}/s` : `rates ${options.rates.join(', ')}/s`}`);
    for (const target of targets) {
      if (watchdog.signal.aborted) break;
      results.push(await runServer(target, options, runId, watchdog.signal, say));
    }
  } finally {
    watchdog.stop();
    if (startedSynapse && !options.keepSynapse) stopSynapse();
  }

  const rates = options.findMax ? `find-max ×${options.stepFactor} from ${options.rates[0]}/s` : `${options.rates.join(', ')} msg/s`;
  printComparison(
    `Message delivery via /sync: ${shape(options)}, ` +
      `${options.durationSeconds} s per rate (${rates})`,
    results,
    options.p99BoundMs,
  );
  process.stdout.write('\n');
  for (const line of summaryLines(results, options.p99BoundMs)) process.stdout.write(`${line}\n`);
  const errors = errorLines(results, options.drainSeconds);
  for (const line of errors) process.stdout.write(`${line}\n`);
  // Losing messages at a rate the user asked for is a failure; in find-max the last step is expected to fall short.
  const incomplete = results.some((r) => r.error !== undefined) || results.length < options.targets.length;
  const lost = !options.findMax && results.some((r) => r.steps.some((s) => s.figures.lostDeliveries > 0));
  if (incomplete || lost) process.exitCode = 1;
};
