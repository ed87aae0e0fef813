/**
 * Turns for the other requests while one request works through many entries (a key query naming
 * thousands of users). The embedded store (PGlite) runs in this thread and answers in microtasks,
 * so a loop of store reads never returns to the event loop by itself: measured, one 10,000-user
 * `/keys/query` held every other request (even `/account/whoami`) for its whole 4 seconds.
 */

/** Entries between two turns: a turn costs about a millisecond (a timer's minimum delay). */
export const ENTRIES_PER_TURN = 100;

/** Resolves after the event loop has served what was waiting (I/O, timers). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Takes a turn every ENTRIES_PER_TURN calls; call it once per entry. */
export const turnTaker = (): (() => Promise<void>) => {
  let entries = 0;
  return async () => {
    entries++;
    if (entries % ENTRIES_PER_TURN === 0) await nextTurn();
  };
};
