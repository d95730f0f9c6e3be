/**
 * A parallel step: transfers a destination can take in bulk from their source (two local
 * folders: copy Workers) go to it; everything else to a bounded pool.
 *
 * @module
 */
import { type BulkResult, fastPath } from "../backends/backend.ts";
import type { Op } from "../plan/types.ts";
import { runPool } from "../util/pool.ts";
import type { Execution, TransferOp } from "./execution.ts";
import { matches } from "./apply.ts";
import { retire, trashOf } from "./retire.ts";
import { runOp } from "./run_op.ts";

/**
 * Run a parallel step's operations, each to its outcome.
 *
 * @param x The run.
 * @param ops The step's operations.
 */
export async function runParallel(x: Execution, ops: Op[]): Promise<void> {
  const groups = new Map<string, TransferOp[]>();
  const rest: Op[] = [];
  const retiring: TransferOp[] = [];
  const group = (o: TransferOp) => {
    const k = `${o.srcAt}>${o.at}`;
    const g = groups.get(k);
    if (g) g.push(o);
    else groups.set(k, [o]);
  };
  for (const o of ops) {
    if ((o.op === "copy" || o.op === "update") && x.at(o).caps.fast?.copyMany) {
      if (o.op === "update" && x.options.trash) retiring.push(o);
      else group(o);
    } else rest.push(o);
  }
  // Overwrites keep their old version in the trash before the bulk copy replaces it; one whose
  // old version could not stay at its path too (or at all) goes the one-by-one way, which
  // reports it.
  await runPool(retiring, x.options.concurrency, async (o) => {
    if (await keptBeside(x, o)) group(o);
    else rest.push(o);
  }, x.signal);
  const { inFlight } = x.progress;
  const bulk: Promise<void>[] = [];
  for (const group of groups.values()) {
    // The operations are the files (a copy of each would cost 20 MB at 200,000 files).
    const handle = fastPath(x.at(group[0]!), "copyMany")!(
      x.from(group[0]!),
      group,
      (r) => reportBulk(x, group[r.id]!, r),
      x.signal,
    );
    if (!handle) {
      rest.push(...group);
      continue;
    }
    inFlight.add(handle.inFlight);
    bulk.push(handle.done.finally(() => inFlight.delete(handle.inFlight)));
  }
  await Promise.all([
    runPool(rest, x.options.concurrency, (o) => runOp(x, o), x.signal),
    ...bulk,
  ]);
}

/** An overwrite's old version kept in the trash and still at its path (a hard link). */
async function keptBeside(x: Execution, o: TransferOp): Promise<boolean> {
  if (o.op !== "update") return false;
  try {
    if (!matches(await x.at(o).stat(o.key), o.expect)) return false;
    return await retire(x, o) === "kept";
  } catch {
    return false;
  }
}

/** Record and report one file of a bulk copy. */
function reportBulk(x: Execution, op: TransferOp, r: BulkResult): void {
  const { res, sink } = x;
  const location = x.at(op).display;
  if (r.ok) {
    res.bytes += r.size;
    x.progress.files++;
    res.outcomes.push({
      op,
      status: "done",
      entry: { key: op.key, kind: "file", size: r.size, mtime: r.mtime },
    });
    sink.emit({ event: op.op, path: op.key, bytes: r.size, location, ...trashOf(x, op) });
    x.progress.report();
  } else if (r.stopped) {
    // Interrupted: the file was left as it was, its temporary file removed.
  } else if (r.changed) {
    res.skipped++;
    const message = `"${op.key}" ${r.error}`;
    res.outcomes.push({ op, status: "skipped", message });
    sink.emit({ event: "skip", path: op.key, reason: message, location });
  } else {
    res.failed++;
    res.outcomes.push({ op, status: "failed", message: r.error });
    sink.emit({ event: "fail", path: op.key, op: op.op, error: r.error, location });
  }
}
