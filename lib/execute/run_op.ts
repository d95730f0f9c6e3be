/**
 * One operation to its outcome: tried (a transfer again after a passing fault), then recorded
 * as done, skipped or failed, or left alone when the run was interrupted.
 *
 * @module
 */
import { fastPath } from "../backends/backend.ts";
import { CopyStopped, describeError, TargetChanged } from "../errors.ts";
import type { Op } from "../plan/types.ts";
import { sleep } from "../util/timer.ts";
import { applyOp } from "./apply.ts";
import type { Execution } from "./execution.ts";
import { Changed, isFinal, isInterruption, isUnreachable, TRANSFER_ATTEMPTS } from "./failures.ts";

/** The key an operation leaves its result at. */
export function keyOf(o: Op): string {
  return o.op === "move" ? o.to : o.key;
}

/**
 * A copy between two local folders through the destination's own copy of an OS file: not
 * retried (no network between them to have a passing fault).
 */
function isLocalCopy(x: Execution, o: Op): boolean {
  return (o.op === "copy" || o.op === "update") && x.from(o).caps.local && x.at(o).caps.local &&
    fastPath(x.at(o), "copyInFromPath") !== undefined;
}

/**
 * Carry out one operation and record its outcome (an interrupted one records none).
 *
 * @param x The run.
 * @param op The operation.
 */
export async function runOp(x: Execution, op: Op): Promise<void> {
  const { res, sink, signal } = x;
  for (let attempt = 1;; attempt++) {
    try {
      const entry = await applyOp(x, op);
      res.outcomes.push(entry ? { op, status: "done", entry } : { op, status: "done" });
      x.reached();
      return;
    } catch (err) {
      if (err instanceof Changed || err instanceof TargetChanged) {
        res.skipped++;
        res.outcomes.push({ op, status: "skipped", message: err.message });
        sink.emit({
          location: x.at(op).display,
          event: "skip",
          path: keyOf(op),
          reason: err.message,
        });
        return;
      }
      const transferOp = op.op === "copy" || op.op === "update";
      if (
        transferOp && !isLocalCopy(x, op) && attempt < TRANSFER_ATTEMPTS && !isFinal(err) &&
        !signal.aborted && !isUnreachable(err)
      ) {
        const wait = (x.options.retryDelay ?? 500) * 2 ** (attempt - 1);
        sink.emit({
          event: "note",
          level: "debug",
          message: `Retrying "${keyOf(op)}" in ${wait} ms: ${describeError(err)}`,
        });
        await sleep(wait, signal);
        if (!signal.aborted) continue;
      }
      // Interrupted: not a failure, and not done (the next run does it).
      if ((err instanceof CopyStopped || isInterruption(err)) && signal.aborted) return;
      res.failed++;
      const message = describeError(err);
      res.outcomes.push({ op, status: "failed", message });
      if (!x.failedReaching(isUnreachable(err), message)) return; // said once already
      sink.emit({
        location: x.at(op).display,
        event: "fail",
        path: keyOf(op),
        op: op.op,
        error: message,
      });
      return;
    }
  }
}
