/**
 * What a pass reports it did: the same counts for a sync and a mirror.
 *
 * @module
 */

/** The summary PRODUCT.md fixes for `--json`. */
export interface Summary {
  copied: number;
  updated: number;
  moved: number;
  deleted: number;
  conflicts: number;
  skipped: number;
  failed: number;
  bytes: number;
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
