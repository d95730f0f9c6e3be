/**
 * The executor's progress: files and bytes done out of the plan's, reported at most every
 * 100 ms, and every 250 ms while bytes move (a single large file shows progress too).
 *
 * @module
 */
import type { Op } from "../plan/types.ts";
import { repeat } from "../util/timer.ts";
import type { EventSink } from "./events.ts";

/** Files and bytes done, reported as `progress` events. */
export class Progress {
  /** Files the plan copies or updates. */
  readonly totalFiles: number;
  /** Their bytes, as planned. */
  readonly totalBytes: number;
  /** Files done so far. */
  files = 0;
  /** Bytes of files still under way (streams count as they flow; Workers in KiB). */
  moving = 0;
  /** Bulk copies under way, each telling how many of its bytes are in flight. */
  readonly inFlight = new Set<() => number>();
  #sink: EventSink;
  /** Bytes of the files done (the run's result keeps the count). */
  #done: { readonly bytes: number };
  #last = 0;
  #stopTicker: (() => void) | undefined;

  /**
   * Totals from the plan's operations; ticks while bytes may move, until {@linkcode stop}.
   *
   * @param ops Every operation of the plan.
   * @param sink Hears the progress events.
   * @param done Holds the bytes of the files done.
   */
  constructor(ops: readonly Op[], sink: EventSink, done: { readonly bytes: number }) {
    let files = 0;
    let bytes = 0;
    for (const o of ops) {
      if (o.op !== "copy" && o.op !== "update") continue;
      files++;
      bytes += o.size;
    }
    this.totalFiles = files;
    this.totalBytes = bytes;
    this.#sink = sink;
    this.#done = done;
    // A single large file shows progress too: the bar is refreshed while bytes move.
    this.#stopTicker = bytes > 0 ? repeat(250, () => this.report()) : undefined;
  }

  /**
   * Emit a `progress` event, unless one went out less than 100 ms ago.
   *
   * @param force Emit it whenever the last went out.
   */
  report(force = false): void {
    const now = performance.now();
    if (!force && now - this.#last < 100) return;
    this.#last = now;
    let bytes = this.#done.bytes + this.moving;
    for (const f of this.inFlight) bytes += f();
    this.#sink.emit({
      event: "progress",
      files: this.files,
      totalFiles: this.totalFiles,
      bytes: Math.min(this.totalBytes, bytes),
      totalBytes: this.totalBytes,
    });
  }

  /** Stop the ticker. */
  stop(): void {
    this.#stopTicker?.();
  }
}
