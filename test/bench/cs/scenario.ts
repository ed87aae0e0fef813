/**
 * The scenario against one server: populate it, position the listeners, then for each rate step
 * send open-loop for the set duration and wait (bounded) for the listeners to see every message.
 */
import { appendFileSync } from 'node:fs';
import { createProgressBar } from '../../../infra/cli/index.ts';
import { hostLoadBetween, sampleHost } from '../hostLoad.ts';
import { readStageHistograms, stagesBetween } from '../serverStages.ts';
import { startListener, type Listener } from './listener.ts';
import { healthReport, MatrixHttpError, sendMessage, serverName, type HttpOptions, type Json } from './matrixClient.ts';
import { inFlightCapFor, type CsBenchOptions, type Target } from './options.ts';
import { listenerNumber, mapLimit, populate } from './population.ts';
import { projectionsOf } from './report.ts';
import { runOpenLoop } from './scheduler.ts';
import { benchMessageContent, benchMessageId, createDeliveryTracker, traceLines, type DeliveryTracker } from './tracker.ts';
import { judgeStep, type StepResult } from './verdict.ts';

export interface ListenerSummary {
  readonly listeners: number;
  readonly filtered: number;
  readonly syncs: number;
  readonly syncErrors: number;
  readonly limitedGaps: number;
  readonly lastError?: string;
}

export interface ServerResult {
  readonly label: string;
  readonly url: string;
  /** What the server stores its data in; undefined when nobody said. */
  readonly database?: string;
  /** The projections the server said (in /health) it runs, ClickHouse analytics on or off. */
  readonly projections: string;
  readonly steps: readonly StepResult[];
  readonly listeners?: ListenerSummary;
  /** Set when the run could not complete (set-up failed, or the run was aborted). */
  readonly error?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Groups send failures by kind: a txn id or room id in the message would make every one distinct. */
export const sendErrorKind = (error: unknown): string => {
  if (error instanceof MatrixHttpError) return `HTTP ${error.status}${error.errcode === undefined ? '' : ` ${error.errcode}`}`;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timed out';
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
};

export const runServer = async (
  target: Target,
  options: CsBenchOptions,
  runId: string,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<ServerResult> => {
  const http: HttpOptions = { baseUrl: target.url, timeoutMs: options.requestTimeoutSeconds * 1000, signal };
  const label = target.label !== '' ? target.label : ((await serverName(http)) ?? new URL(target.url).host);
  const steps: StepResult[] = [];
  const trackers = new Map<string, DeliveryTracker>();
  let listeners: Listener[] = [];
  const prefix = (line: string) => say(`${label}: ${line}`);
  const database = target.database === undefined ? {} : { database: target.database };
  const projections = projectionsOf(await healthReport(http));
  prefix(`projections: ${projections}`);
  try {
    const population = await populate(http, target.sharedSecret, runId, options, prefix);
    const onEvent = (event: Json, listener: number, receivedAt: number) => {
      const id = benchMessageId(event);
      if (id === undefined) return;
      trackers.get(id.slice(0, id.lastIndexOf('.')))?.delivered(id, listener, receivedAt);
    };
    prefix(`positioning ${options.rooms * options.listenersPerRoom} listeners`);
    const slots = population.listeners.flatMap((members, room) => members.map((session, k) => ({ session, room, k })));
    listeners = await mapLimit(slots, 4, ({ session, room, k }) =>
      startListener({
        http, session, roomId: population.roomIds[room] as string, index: listenerNumber(room, k, options.listenersPerRoom),
        unfiltered: !options.filter, timelineLimit: options.timelineLimit, onEvent,
      }),
    );
    if (options.filter && listeners.some((l) => !l.filtered)) prefix('the server refused the sync filter; listeners use plain /sync');

    const runStep = async (rate: number, index: number): Promise<StepResult> => {
      const tracker = createDeliveryTracker(`${runId}.${index}`);
      trackers.set(tracker.step, tracker);
      const roomListeners = population.roomIds.map((_, room) =>
        Array.from({ length: options.listenersPerRoom }, (_, k) => listenerNumber(room, k, options.listenersPerRoom)),
      );
      let issued = 0;
      const scheduled = Math.round(rate * options.durationSeconds);
      const sending = createProgressBar({ label: `${label} ${rate}/s sending` });
      // Made now so its rate reads as deliveries per second over the whole step.
      const drain = createProgressBar({ label: `${label} ${rate}/s deliveries` });
      const ticker = setInterval(() => sending.update(issued, scheduled), 100);
      const stagesBefore = target.metricsUrl === undefined ? undefined : await readStageHistograms(target.metricsUrl, prefix);
      const hostBefore = sampleHost();
      const schedule = await runOpenLoop({
        rate,
        durationSeconds: options.durationSeconds,
        maxInFlight: options.maxInFlight ?? inFlightCapFor(rate, options.p99BoundMs),
        signal,
        send: async (i) => {
          issued = i + 1;
          const room = i % options.rooms;
          const id = tracker.messageId(i);
          tracker.sendStarted(id, roomListeners[room] as number[], performance.now());
          try {
            await sendMessage(http, population.senderOf(i), population.roomIds[room] as string, id, benchMessageContent(id, Date.now()));
            tracker.sendFinished(id, performance.now());
          } catch (error) {
            tracker.sendFinished(id, performance.now(), sendErrorKind(error));
          }
        },
      });
      clearInterval(ticker);
      sending.update(scheduled, scheduled);
      sending.finish();

      const drainUntil = performance.now() + options.drainSeconds * 1000;
      while (tracker.outstanding() > 0 && performance.now() < drainUntil && !signal.aborted) {
        drain.update(tracker.deliveries(), tracker.deliveries() + tracker.outstanding());
        await sleep(100);
      }
      drain.update(tracker.deliveries(), tracker.deliveries() + tracker.outstanding());
      drain.finish();
      const host = hostLoadBetween(hostBefore, sampleHost());
      const stagesAfter = stagesBefore === undefined ? undefined : await readStageHistograms(target.metricsUrl!, prefix);
      const stages = stagesBefore === undefined || stagesAfter === undefined ? undefined : stagesBetween(stagesBefore, stagesAfter);
      if (options.tracePath !== undefined) appendFileSync(options.tracePath, traceLines(label, rate, tracker.timeline()).map((line) => `${line}\n`).join(''));
      return { rate, schedule, figures: tracker.figures(), ...(host === undefined ? {} : { host }), ...(stages === undefined ? {} : { stages }) };
    };

    if (options.findMax) {
      for (let rate = options.rates[0] as number, i = 0; rate <= options.maxRate && !signal.aborted; rate *= options.stepFactor, i += 1) {
        const step = await runStep(Math.round(rate), i);
        steps.push(step);
        if (!judgeStep(step, options.p99BoundMs).sustained) break;
      }
    } else {
      for (const [i, rate] of options.rates.entries()) {
        if (signal.aborted) break;
        steps.push(await runStep(rate, i));
      }
    }
    if (signal.aborted) throw new Error('aborted (--max-runtime reached)');
    return { label, url: target.url, ...database, projections, steps, listeners: summarizeListeners(listeners) };
  } catch (error) {
    return {
      label, url: target.url, ...database, projections, steps, listeners: summarizeListeners(listeners),
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    await Promise.all(listeners.map((l) => l.stop()));
  }
};

const summarizeListeners = (listeners: readonly Listener[]): ListenerSummary => {
  const lastError = listeners.map((l) => l.stats.lastError).find((e) => e !== undefined);
  return {
    listeners: listeners.length,
    filtered: listeners.filter((l) => l.filtered).length,
    syncs: listeners.reduce((n, l) => n + l.stats.syncs, 0),
    syncErrors: listeners.reduce((n, l) => n + l.stats.errors, 0),
    limitedGaps: listeners.reduce((n, l) => n + l.stats.limitedGaps, 0),
    ...(lastError === undefined ? {} : { lastError }),
  };
};
