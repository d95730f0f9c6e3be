/**
 * Timers of any length. `setTimeout` and `setInterval` take at most 2^31 - 1 ms (about 24.9
 * days): given more, they fire after 1 ms, so a monthly `--interval` or a yearly `--poll` would
 * run every millisecond. Every wait in ferry goes through {@linkcode later}, which waits longer
 * delays as several timers in a row.
 *
 * @module
 */

/** The longest one timer can wait, ms (2^31 - 1). */
export const MAX_TIMER = 2 ** 31 - 1;

/**
 * Call `fn` once after `ms`, however long that is.
 *
 * @param ms How long to wait, ms (0 or less: on the next turn of the event loop).
 * @param fn What to call.
 * @returns A function that cancels the call if it has not happened yet.
 * @example A call cancelled before it happens
 * ```ts
 * import assert from "node:assert/strict";
 * let called = false;
 * const cancel = later(40 * 24 * 3600 * 1000, () => called = true);
 * cancel();
 * assert.equal(called, false);
 * ```
 */
export function later(ms: number, fn: () => void): () => void {
  const end = Date.now() + ms;
  let t: ReturnType<typeof setTimeout> | undefined;
  const arm = (left: number) => {
    t = setTimeout(() => {
      const rest = end - Date.now();
      if (rest > 0) arm(rest);
      else {
        t = undefined;
        fn();
      }
    }, Math.max(0, Math.min(left, MAX_TIMER)));
  };
  arm(ms);
  return () => {
    if (t !== undefined) clearTimeout(t);
    t = undefined;
  };
}

/**
 * Call `fn` every `ms`, however long that is, until cancelled.
 *
 * @param ms The period, ms.
 * @param fn What to call.
 * @returns A function that stops the calls.
 * @example Stopped before the first call
 * ```ts
 * import assert from "node:assert/strict";
 * let calls = 0;
 * const stop = repeat(100 * 24 * 3600 * 1000, () => calls++);
 * stop();
 * assert.equal(calls, 0);
 * ```
 */
export function repeat(ms: number, fn: () => void): () => void {
  let cancel: () => void;
  let stopped = false;
  const next = () => {
    cancel = later(ms, () => {
      if (stopped) return;
      next();
      fn();
    });
  };
  next();
  return () => {
    stopped = true;
    cancel();
  };
}

/**
 * Wait `ms` (any length: a monthly job waits weeks), or until `signal` aborts.
 *
 * @param ms How long.
 * @param signal Ends the wait early.
 * @returns When the time is up or the signal aborted.
 * @example A wait ended by its signal
 * ```ts
 * const stop = new AbortController();
 * const waiting = sleep(30 * 24 * 3600 * 1000, stop.signal);
 * stop.abort();
 * await waiting;
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const cancel = later(ms, done);
    function done() {
      cancel();
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
