/**
 * What a pass reports it did: the same counts for a sync and a mirror.
 *
 * @module
 */

/** The summary PRODUCT.md fixes for `--json`. */
export interface Summary {
  /** Files written where they were missing. */
  copied: number;
  /** Files written over an older or different one. */
  updated: number;
  /** Renames done as renames (files or folders). */
  moved: number;
  /** Files and folders deleted. */
  deleted: number;
  /** Paths the plan could not decide (see `Plan.conflicts`). */
  conflicts: number;
  /** Left alone: special files, archived sources, targets changed since they were listed. */
  skipped: number;
  /** Operations that failed (listed in `failures` of the pass's result). */
  failed: number;
  /** Content bytes sent. */
  bytes: number;
  /** Wall time of the pass, in seconds. */
  seconds: number;
}

/** A summary of nothing done: what every pass starts from. */
export const ZERO_SUMMARY: Readonly<Summary> = Object.freeze({
  copied: 0,
  updated: 0,
  moved: 0,
  deleted: 0,
  conflicts: 0,
  skipped: 0,
  failed: 0,
  bytes: 0,
  seconds: 0,
});
