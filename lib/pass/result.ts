/**
 * What a pass did, whatever its kind.
 *
 * @module
 */
import type { Plan } from "../plan/types.ts";
import type { Summary } from "./summary.ts";

/** What a pass did (or, with `dryRun`, would do). */
export interface PassResult {
  plan: Plan;
  summary: Summary;
  failures: { path: string; error: string }[];
  interrupted: boolean;
  deletesHeld: boolean;
  /** Source files in an archive tier, left alone until restored. */
  archived: string[];
}
