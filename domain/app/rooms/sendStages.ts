/** The stages of a local send the room writer times (metrics: a message's life on the server). */

/**
 * Where a local send's time goes: waiting for its room's queue (`queue`, the commands before it
 * deciding), deciding (`decide`: checks, hashing, signing), the log acknowledging its append
 * (`append`: the room's earlier appends, the group commit, the round trip) and the rooms projection
 * applying it (`apply`: what read-your-writes waits for).
 */
export type SendStage = 'queue' | 'decide' | 'append' | 'apply';

/** Reports the time since the previous mark to `report` at each mark (a monotonic clock). */
export const stageTimer = (report: (stage: SendStage, seconds: number) => void) => {
  let last = performance.now();
  return {
    restart: (): void => { last = performance.now(); },
    done: (stage: SendStage): void => {
      const now = performance.now();
      report(stage, (now - last) / 1000);
      last = now;
    },
  };
};
