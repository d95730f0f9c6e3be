/**
 * The options every kind of pass takes (a sync adds `delete`).
 *
 * @module
 */
import type { EventSink } from "../execute/events.ts";
import type { StateStore } from "../state/store.ts";
import type { DeleteLimit } from "./delete_limit.ts";

/** Options common to a sync pass and a mirror pass. */
export interface PassOptions {
  dryRun?: boolean;
  checksum?: boolean;
  exclude?: readonly string[];
  /** A sync counts the destination; a mirror counts each member. */
  maxDelete?: DeleteLimit;
  /** Past the safety guards (a mirror: also lets a member that was emptied take part). */
  force?: boolean;
  concurrency?: number;
  /** Pause before a failed transfer is tried again, ms (default 500, doubled each time). */
  retryDelay?: number;
  sink: EventSink;
  signal?: AbortSignal;
  state?: StateStore;
  /**
   * Limit the pass to these subtrees (keys; what `--watch` saw change): only they are listed,
   * nothing outside them is copied, deleted, renamed from or dropped from the state. The
   * safety guards still count the whole job (from the state).
   */
  scope?: readonly string[];
  /** Asked before deleting (only set when a person can answer). */
  confirmDelete?: (count: number, sample: string[]) => Promise<boolean>;
}
