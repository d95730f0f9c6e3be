/**
 * What a pass did, whatever its kind.
 *
 * @module
 */
import type { Plan } from "../plan/types.ts";
import type { Summary } from "./summary.ts";

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
}
