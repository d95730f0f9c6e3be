/**
 * `--max-delete`: how many deletions a pass may make in one location before it is refused.
 *
 * @module
 */
import type { Plan } from "../plan/types.ts";

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

/**
 * How many files a plan deletes in each member (what `--max-delete` counts, per location).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const del = { op: "delete" as const, at: 1, key: "a", size: 1, expect: { size: 1, mtime: 0 } };
 * const plan = { steps: [{ name: "delete", ops: [del], parallel: true }] };
 * assert.deepEqual(deletesPerMember(plan, 2), [0, 1]);
 * ```
 *
 * @param plan The plan.
 * @param members How many members the job has.
 * @returns Deletions per member.
 */
export function deletesPerMember(plan: Pick<Plan, "steps">, members: number): number[] {
  const out = new Array<number>(members).fill(0);
  for (const s of plan.steps) for (const o of s.ops) if (o.op === "delete") out[o.at]!++;
  return out;
}
