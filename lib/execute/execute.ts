/**
 * The executor: the only code that changes storage. It re-checks each target just before it
 * overwrites or deletes it, and runs no deletion after an earlier failure.
 *
 * @module
 */
import type { Backend, Entry } from "../backends/backend.ts";
import { type Op, opsOf, type Plan, type Step, withoutOps } from "../plan/types.ts";
import type { EventSink } from "./events.ts";
import { Execution } from "./execution.ts";
import { runParallel } from "./parallel.ts";
import { recordTrash, type TrashOptions } from "./retire.ts";
import { runOp } from "./run_op.ts";

/** What happened to one operation. */
export interface Outcome {
  /**
   * The operation: the plan's own object, never a copy. Outcomes are matched to the plan's
   * operations by identity (`===`, a `Map<Op, …>`: the state's derivation, and the count of
   * operations a lost location left unattempted), so a step between planning and execution
   * that copied operations (a spread, a `structuredClone`) would leave every outcome matching
   * nothing: the run's work done, and nothing of it recorded. Such steps filter the plan (as
   * {@linkcode withoutOps} does) and never copy an operation; tests/execute/execute_test.ts
   * fails when an outcome's `op` is not one of the plan's own. An operation with no outcome
   * was not attempted, or was interrupted.
   */
  op: Op;
  status: "done" | "failed" | "skipped";
  /** The destination entry after a copy or update. */
  entry?: Entry;
  message?: string;
}

/** The executor's result. */
export interface ExecResult {
  outcomes: Outcome[];
  failed: number;
  skipped: number;
  bytes: number;
  /**
   * Deletions were held back: a guarded step was reached after a failure (or, under
   * `holdDeletes`, a guarded step that deletes), and it and every step after it were not run.
   */
  deletesHeld: boolean;
  interrupted: boolean;
  /**
   * The run stopped early because a location could no longer be reached: why, and how many
   * operations were not attempted (each counted as failed, reported once, not one by one).
   */
  stopped?: { reason: string; notAttempted: number };
}

/** Options of {@linkcode execute}. */
export interface ExecuteOptions {
  concurrency: number;
  sink: EventSink;
  signal?: AbortSignal;
  /**
   * Run no deletion at all (something already failed, such as a folder that could not be
   * listed): the guarded steps run up to the first that deletes, and none from there on. (A
   * mirror's overwrites of versions kept as conflict copies come before it and still run: held
   * with them, a conflict never settled while any other path failed.)
   */
  holdDeletes?: boolean;
  /** Pause before retrying a failed transfer, ms (default 500; doubled each time). */
  retryDelay?: number;
  /**
   * Keep what is deleted or overwritten in each location's trash, under this run's folder
   * (absent: destroyed outright, as with `--no-trash`).
   */
  trash?: TrashOptions;
}

/**
 * Ask before deleting, where the caller asks (`--yes` absent on a terminal): the plan as asked
 * for, or without its deletions (and the folder removals that follow them) when declined.
 *
 * @param plan The plan.
 * @param confirm Asks about `count` deletions, showing up to 10 of their paths.
 * @param sink Hears that deletions were declined.
 * @returns The plan to carry out.
 */
export async function confirmDeletes<P extends Plan>(
  plan: P,
  confirm: ((count: number, sample: string[]) => Promise<boolean>) | undefined,
  sink: EventSink,
): Promise<P> {
  if (!confirm) return plan;
  const keys: string[] = [];
  for (const o of opsOf(plan)) if (o.op === "delete") keys.push(o.key);
  if (keys.length === 0 || await confirm(keys.length, keys.slice(0, 10))) return plan;
  sink.emit({ event: "note", level: "warn", message: "Deletions declined: nothing was deleted" });
  return withoutOps(plan, (o) => o.op === "delete" || o.op === "rmdir");
}

/**
 * {@linkcode execute} with the locations it writes to made durable: each transactional one
 * (an archive) begins first and commits once every operation was tried, or is rolled back
 * when anything throws. Returned, the result's writes are durable, and only then may the state
 * record them (a state ahead of its backend would take an entry that never landed for a
 * deletion to spread).
 *
 * @param plan The plan.
 * @param members The job's locations.
 * @param writers The locations the plan writes to.
 * @param options As for {@linkcode execute}.
 * @returns Per-operation outcomes and totals.
 */
export async function executeDurably(
  plan: Pick<Plan, "steps">,
  members: readonly Backend[],
  writers: readonly Backend[],
  options: ExecuteOptions,
): Promise<ExecResult> {
  for (const b of writers) await b.begin?.();
  try {
    const res = await execute(plan, members, options);
    for (const b of writers) await b.commit?.();
    return res;
  } catch (err) {
    for (const b of writers) await b.rollback?.().catch(() => {});
    throw err;
  }
}

/**
 * Carry out a plan: its steps in the order given, each step's operations in parallel or one
 * by one as the plan says. Operations name the members they act on.
 *
 * A guarded step is where the run stops once any operation before it has failed; under
 * `holdDeletes` it also stops at the first guarded step that deletes (guarded steps that do
 * not delete still run). Stopped, no later step runs, guarded or not.
 *
 * @param plan The plan.
 * @param members The job's locations, indexed by the operations' `at` and `srcAt`.
 * @param options Concurrency, event sink and interruption signal.
 * @returns Per-operation outcomes (each naming the plan's own operation) and totals.
 */
export async function execute(
  plan: Pick<Plan, "steps">,
  members: readonly Backend[],
  options: ExecuteOptions,
): Promise<ExecResult> {
  const ops = opsOf(plan);
  const x = new Execution(ops, members, options);
  for (const [i, step] of plan.steps.entries()) {
    if (x.signal.aborted) break;
    if (step.guarded && (x.res.failed > 0 || (options.holdDeletes && deletions(step) > 0))) {
      holdBack(x, plan.steps.slice(i));
      break;
    }
    if (step.parallel) await runParallel(x, step.ops);
    else {
      for (const o of step.ops) {
        if (x.signal.aborted) break;
        await runOp(x, o);
      }
    }
    if (step.ops.some((o) => o.op === "copy" || o.op === "update")) x.progress.report(true);
  }
  await recordTrash(x);
  return x.finish(ops);
}

/** Deletions and folder removals in a step. */
function deletions(s: Step): number {
  return s.ops.filter((o) => o.op === "delete" || o.op === "rmdir").length;
}

/** The run stops before `rest`: the deletions of its guarded steps are held, and said so. */
function holdBack(x: Execution, rest: readonly Step[]): void {
  const held = rest.filter((s) => s.guarded).reduce((n, s) => n + deletions(s), 0);
  x.res.deletesHeld = held > 0;
  if (held > 0) {
    x.sink.emit({
      event: "note",
      level: "warn",
      message: `${held} deletion(s) held back because earlier operations failed`,
    });
  }
}
