/**
 * Waiting in tests: for a condition, with a deadline, never for a fixed time.
 *
 * @module
 */

/**
 * Wait until `cond` holds, looking every 10 ms; fail, naming what was awaited, at the deadline.
 *
 * @param what What is awaited (for the failure).
 * @param cond The condition.
 * @param ms The deadline (default 60 s: generous for a cold, loaded machine).
 */
export async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 1_000_000 && !cond(); i++) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
