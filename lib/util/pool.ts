/**
 * Run async work over a list with a bounded number in flight.
 *
 * @param items The work items.
 * @param limit How many run at once (at least 1).
 * @param fn The work; its rejections must be handled by the caller inside `fn`.
 * @param signal Stops starting new items when aborted.
 * @example Square numbers, two at a time
 * ```ts
 * import assert from "node:assert/strict";
 * const out: number[] = [];
 * await runPool([1, 2, 3], 2, async (n) => { out.push(n * n); });
 * assert.deepEqual(out.sort(), [1, 4, 9]);
 * ```
 */
export async function runPool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  const n = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: n }, worker));
}
