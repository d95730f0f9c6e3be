/**
 * `--max-delete`: how many deletions a pass may make in one location before it is refused.
 *
 * @module
 */

/** A limit on deletions: a number of files, or a percentage of the destination's files. */
export type DeleteLimit = { count: number } | { percent: number };

/**
 * Whether deleting `deletes` of a location's `files` goes over `--max-delete` (default 50%).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(overDeleteLimit(undefined, 6, 10), "50%");
 * assert.equal(overDeleteLimit({ count: 6 }, 6, 10), undefined);
 * ```
 *
 * @param limit The limit given, if any.
 * @param deletes Files to delete.
 * @param files Files the location holds.
 * @returns The limit as the user wrote it when it is exceeded, else undefined.
 */
export function overDeleteLimit(
  limit: DeleteLimit | undefined,
  deletes: number,
  files: number,
): string | undefined {
  const l = limit ?? { percent: 50 };
  const over = "count" in l ? deletes > l.count : deletes > (files * l.percent) / 100;
  if (!over) return undefined;
  return "count" in l ? `${l.count}` : `${l.percent}%`;
}
