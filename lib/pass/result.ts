/**
 * What a pass did, whatever its kind.
 *
 * @module
 */
import type { Outcome } from "../execute/execute.ts";
import type { Plan } from "../plan/types.ts";
import type { Summary } from "./summary.ts";

/**
 * A change a pass made in a member (a watcher does not take it for a change of the user's):
 * a file written (its size and time), or a path made or removed.
 */
export type Written =
  & { at: number; key: string }
  & ({ size: number; mtime: number } | { present: boolean });

/** What a pass did (or, with `dryRun`, would do). */
export interface PassResult {
  /** The plan the pass made (and, unless `dryRun`, ran). */
  plan: Plan;
  /** The counts. */
  summary: Summary;
  /** Each failed operation's key and error message. */
  failures: { path: string; error: string }[];
  /** The signal stopped the pass before its plan was done. */
  interrupted: boolean;
  /** Deletions were not run because earlier operations failed (or none were confirmed). */
  deletesHeld: boolean;
  /** Source files in an archive tier, left alone until restored. */
  archived: string[];
  /** What the pass wrote in each member (a watching job's way of knowing its own
   * writes). */
  written: Written[];
}

/**
 * What the operations that were done wrote, member by member.
 *
 * @param outcomes The executor's outcomes.
 * @returns A file's size and time where one was written; else the path made or removed.
 */
export function writtenBy(outcomes: readonly Outcome[]): Written[] {
  const written: Written[] = [];
  for (const { op, status, entry } of outcomes) {
    if (status !== "done") continue;
    if ((op.op === "copy" || op.op === "update") && entry) {
      written.push({ at: op.at, key: op.key, size: entry.size, mtime: entry.mtime });
    } else if (op.op === "move") {
      written.push({ at: op.at, key: op.from, present: false });
      written.push({ at: op.at, key: op.to, present: true });
    } else if (op.op === "mkdir") written.push({ at: op.at, key: op.key, present: true });
    else if (op.op === "delete" || op.op === "rmdir") {
      written.push({ at: op.at, key: op.key, present: false });
    }
  }
  return written;
}
