/**
 * One run of the executor: the members, the result as it grows, progress, and the run's own
 * stop (the caller's signal, or a location that can no longer be reached).
 *
 * @module
 */
import type { Backend } from "../backends/backend.ts";
import type { Op } from "../plan/types.ts";
import type { EventSink } from "./events.ts";
import type { ExecResult, ExecuteOptions } from "./execute.ts";
import { UNREACHABLE_IN_A_ROW } from "./failures.ts";
import { Progress } from "./progress.ts";

/** A copy or an update: an operation that moves a file's content. */
export type TransferOp = Extract<Op, { op: "copy" | "update" }>;

/** The state of one run of {@linkcode execute}, shared by the parts that carry it out. */
export class Execution {
  readonly members: readonly Backend[];
  readonly options: ExecuteOptions;
  readonly sink: EventSink;
  /** The result, filled in as operations end; each outcome's `op` is the plan's own object. */
  readonly res: ExecResult = {
    outcomes: [],
    failed: 0,
    skipped: 0,
    bytes: 0,
    deletesHeld: false,
    interrupted: false,
  };
  readonly progress: Progress;
  /** Aborted when the caller's signal is, or when a location can no longer be reached. */
  readonly signal: AbortSignal;
  /**
   * Operations whose old version was kept in the trash: where it went, and whether the path
   * still holds it (`kept`) or is empty (`gone`).
   */
  readonly trashed = new Map<Op, { key: string; left: "gone" | "kept" }>();
  /** Why the run stopped early (a location lost), once it has. */
  lostReason: string | undefined;
  #halt = new AbortController();
  #onAbort = () => this.#halt.abort();
  #unreachableInARow = 0;

  /**
   * @param ops Every operation of the plan (for the progress totals).
   * @param members The job's locations, indexed by the operations' `at` and `srcAt`.
   * @param options As given to {@linkcode execute}.
   */
  constructor(ops: readonly Op[], members: readonly Backend[], options: ExecuteOptions) {
    this.members = members;
    this.options = options;
    this.sink = options.sink;
    this.signal = this.#halt.signal;
    if (options.signal?.aborted) this.#halt.abort();
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.progress = new Progress(ops, this.sink, this.res);
  }

  /**
   * The member an operation acts on.
   *
   * @param o The operation.
   * @returns Its backend.
   */
  at(o: Op): Backend {
    return this.members[o.at]!;
  }

  /**
   * The member a copy or update reads from.
   *
   * @param o The operation.
   * @returns Its source backend.
   */
  from(o: TransferOp): Backend {
    return this.members[o.srcAt]!;
  }

  /** An operation succeeded: the run of unreachable failures is broken. */
  reached(): void {
    this.#unreachableInARow = 0;
  }

  /**
   * Count a failure by whether it says the location cannot be reached: so many in a row stop
   * the run (its reason kept).
   *
   * @param unreachable Whether the failure says so.
   * @param message The failure, as reported.
   * @returns False when the failure need not be reported: the run already stopped for it.
   */
  failedReaching(unreachable: boolean, message: string): boolean {
    if (unreachable) {
      if (++this.#unreachableInARow >= UNREACHABLE_IN_A_ROW && !this.lostReason) {
        this.lostReason = message;
        this.#halt.abort();
      }
    } else this.#unreachableInARow = 0;
    return !(this.lostReason && this.#unreachableInARow > UNREACHABLE_IN_A_ROW);
  }

  /**
   * The run is over: stop the ticker, let go of the caller's signal, and count what a lost
   * location left unattempted.
   *
   * @param ops Every operation of the plan.
   * @returns The result.
   */
  finish(ops: readonly Op[]): ExecResult {
    const res = this.res;
    this.progress.stop();
    this.options.signal?.removeEventListener("abort", this.#onAbort);
    res.interrupted = !!this.options.signal?.aborted;
    if (this.lostReason) {
      // Outcomes name the plan's own operations: what has none was not attempted.
      const attempted = new Set(res.outcomes.map((o) => o.op));
      const notAttempted = ops.filter((o) => !attempted.has(o)).length;
      res.failed += notAttempted;
      res.stopped = { reason: this.lostReason, notAttempted };
      this.sink.emit({
        event: "note",
        level: "warn",
        message: `Stopped: ${this.lostReason}; ${notAttempted} operation(s) not attempted`,
      });
    }
    return res;
  }
}
