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
  /** A sync: also delete in the destination what the source no longer has (`--delete`); a
   * mirror spreads the deletions its state proves and ignores this. */
  delete?: boolean;
  /** Plan and report, change nothing (state included). */
  dryRun?: boolean;
  /** Compare by SHA-256, not size and modification time. */
  checksum?: boolean;
  /** gitignore-style patterns left out in every location (with each root's `.ferryignore`). */
  exclude?: readonly string[];
  /** A sync counts the destination; a mirror counts each member. */
  maxDelete?: DeleteLimit;
  /** Past the safety guards (a mirror: also lets a member that was emptied take part). */
  force?: boolean;
  /** Operations in flight at once (default 16; never more than a location declares). */
  concurrency?: number;
  /** Pause before a failed transfer is tried again, ms (default 500, doubled each time). */
  retryDelay?: number;
  /** Where the pass's events go (`silentSink` drops them). */
  sink: EventSink;
  /** Interrupts the pass: no new operation starts; what was done is still recorded. */
  signal?: AbortSignal;
  /** The state database; without it a pass knows nothing of the last (renames, hashes, times). */
  state?: StateStore;
  /**
   * Limit the pass to these subtrees (keys; what `--watch` saw change): only they are listed,
   * nothing outside them is copied, deleted, renamed from or dropped from the state. The
   * safety guards still count the whole job (from the state).
   */
  scope?: readonly string[];
  /**
   * Days each location keeps what the pass deletes or overwrites in its trash
   * (`.ferry/trash/`); default 30, 0 turns the trash off (`--no-trash`).
   */
  trashDays?: number;
  /**
   * The most each location's trash may hold (`--trash-max`): a share of the location's
   * content, or bytes; the oldest runs go first, never the one this pass kept.
   */
  trashMax?: { percent: number } | { bytes: number };
  /** Asked before deleting (only set when a person can answer). */
  confirmDelete?: (count: number, sample: string[]) => Promise<boolean>;
}
