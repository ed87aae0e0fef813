/** Whether a rate step was sustained: everything sent was delivered, on time, at the offered rate. */
import type { HostLoad } from '../hostLoad.ts';
import type { StageFigure } from '../serverStages.ts';
import type { OpenLoopResult } from './scheduler.ts';
import type { StepFigures } from './tracker.ts';

export interface StepResult {
  readonly rate: number;
  readonly schedule: OpenLoopResult;
  readonly figures: StepFigures;
  /** The machine's load from the step's first send to the end of its drain; undefined off Linux. */
  readonly host?: HostLoad;
  /** Where the time went inside the server, from its /metrics (--metrics-url); undefined without. */
  readonly stages?: readonly StageFigure[];
}

export interface Verdict {
  readonly sustained: boolean;
  /** Why not, in a few words each; empty when sustained. */
  readonly reasons: readonly string[];
}

/** Successful sends per second over the step, from the first due send until the last one settled. */
export const achievedRate = (step: StepResult): number =>
  step.schedule.elapsedMs > 0 ? step.figures.sendOk / (step.schedule.elapsedMs / 1000) : 0;

const share = (part: number, whole: number): number => (whole === 0 ? 0 : part / whole);

export const judgeStep = (step: StepResult, p99BoundMs: number): Verdict => {
  const { figures, schedule } = step;
  const reasons: string[] = [];
  if (figures.sendOk === 0) reasons.push('nothing sent');
  if (share(figures.lostDeliveries, figures.expectedDeliveries) > 0.001) reasons.push('deliveries lost');
  if (share(schedule.skipped, schedule.scheduled) > 0.01) reasons.push('in-flight cap reached');
  if (share(figures.sendFailed, schedule.scheduled) > 0.001) reasons.push('sends failed');
  if (achievedRate(step) < 0.9 * step.rate) reasons.push('throughput below 90% of offered');
  if (!(figures.deliveryLatency.p99 <= p99BoundMs)) reasons.push(`delivery p99 over ${p99BoundMs} ms`);
  return { sustained: reasons.length === 0, reasons };
};

/** The highest offered rate that was sustained, if any. */
export const sustainedRate = (steps: readonly StepResult[], p99BoundMs: number): number | undefined => {
  const good = steps.filter((s) => judgeStep(s, p99BoundMs).sustained).map((s) => s.rate);
  return good.length === 0 ? undefined : Math.max(...good);
};
