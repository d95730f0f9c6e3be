/**
 * The executor: the only code that changes storage. It re-checks each target just before it
 * overwrites or deletes it, and runs no deletion after an earlier failure.
 *
 * @module
 */
import type { Backend, Entry, WriteMeta } from "../backends/backend.ts";
import { describeError } from "../errors.ts";
import type { Expect, Op } from "../plan/types.ts";
import type { EventSink } from "./events.ts";
import { type CopyJob, copyWithWorkers } from "./copy_pool.ts";
import { runPool } from "./pool.ts";

/** What happened to one operation. */
export interface Outcome {
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
  /** Deletions were held back because something failed before them. */
  deletesHeld: boolean;
  interrupted: boolean;
}

/** Below this many local-to-local copies, Worker start-up costs more than it saves. */
const WORKER_THRESHOLD = 64;

/** Options of {@linkcode execute}. */
export interface ExecuteOptions {
  concurrency: number;
  /** Worker threads for local-to-local copies (default 2). */
  workers?: number;
  sink: EventSink;
  signal?: AbortSignal;
}

/**
 * Copy one file from `src` to `dst` atomically, through the fastest path both sides allow.
 *
 * @param src Source backend.
 * @param srcKey Source key.
 * @param dst Destination backend.
 * @param key Destination key.
 * @param meta Size and modification time to keep.
 * @returns The written destination entry.
 */
export async function transfer(
  src: Backend,
  srcKey: string,
  dst: Backend,
  key: string,
  meta: WriteMeta,
): Promise<Entry> {
  if (src.localPath && dst.copyInFromPath) {
    return await dst.copyInFromPath(src.localPath(srcKey), key, meta);
  }
  return await dst.write(key, await src.read(srcKey), meta);
}

function matches(e: Entry | undefined, expect: Expect): boolean {
  return !!e && e.kind === "file" && e.size === expect.size && e.mtime === expect.mtime;
}

class Changed extends Error {}

/**
 * Carry out a plan.
 *
 * @param ops The plan's operations, in plan order.
 * @param src Source backend.
 * @param dst Destination backend.
 * @param options Concurrency, event sink and interruption signal.
 * @returns Per-operation outcomes and totals.
 */
export async function execute(
  ops: readonly Op[],
  src: Backend,
  dst: Backend,
  options: ExecuteOptions,
): Promise<ExecResult> {
  const { sink, signal } = options;
  const res: ExecResult = {
    outcomes: [],
    failed: 0,
    skipped: 0,
    bytes: 0,
    deletesHeld: false,
    interrupted: false,
  };
  const totalFiles = ops.filter((o) => o.op === "copy" || o.op === "update").length;
  const totalBytes = ops.reduce(
    (n, o) => n + (o.op === "copy" || o.op === "update" ? o.size : 0),
    0,
  );
  let doneFiles = 0;
  let lastProgress = 0;
  const progress = (force = false) => {
    const now = performance.now();
    if (!force && now - lastProgress < 100) return;
    lastProgress = now;
    sink.emit({ event: "progress", files: doneFiles, totalFiles, bytes: res.bytes, totalBytes });
  };

  const run = async (op: Op) => {
    try {
      const entry = await apply(op);
      res.outcomes.push(entry ? { op, status: "done", entry } : { op, status: "done" });
    } catch (err) {
      if (err instanceof Changed) {
        res.skipped++;
        res.outcomes.push({ op, status: "skipped", message: err.message });
        sink.emit({ event: "skip", path: keyOf(op), reason: err.message });
        return;
      }
      res.failed++;
      const message = describeError(err);
      res.outcomes.push({ op, status: "failed", message });
      sink.emit({ event: "fail", path: keyOf(op), op: op.op, error: message });
    }
  };

  const apply = async (op: Op): Promise<Entry | undefined> => {
    switch (op.op) {
      case "mkdir":
        await dst.mkdir(op.key);
        sink.emit({ event: "mkdir", path: op.key });
        return;
      case "move": {
        // Where folders are only key prefixes there is nothing to stat: the move itself
        // finds the objects below the prefix, and fails if there are none.
        if (op.kind === "file" || dst.caps.dirs) {
          const from = await dst.stat(op.from);
          if (!from || from.kind !== op.kind) {
            throw new Changed(`"${op.from}" changed in the destination since the scan`);
          }
        }
        if (dst.move) await dst.move(op.from, op.to);
        else throw new Error("this location cannot rename in place");
        sink.emit({ event: "move", path: op.to, from: op.from, files: op.files });
        return;
      }
      case "copy":
      case "update": {
        if (op.op === "update" && !matches(await dst.stat(op.key), op.expect)) {
          throw new Changed(`"${op.key}" changed in the destination since the scan; left as it is`);
        }
        const entry = await transfer(src, op.srcKey, dst, op.key, {
          size: op.size,
          mtime: op.mtime,
        });
        res.bytes += op.size;
        doneFiles++;
        sink.emit({ event: op.op, path: op.key, bytes: op.size });
        progress();
        return entry;
      }
      case "delete":
        if (!matches(await dst.stat(op.key), op.expect)) {
          throw new Changed(`"${op.key}" changed in the destination since the scan; not deleted`);
        }
        await dst.remove(op.key);
        sink.emit({ event: "delete", path: op.key, bytes: op.size });
        return;
      case "rmdir":
        try {
          await dst.rmdir(op.key);
        } catch (err) {
          if (await dst.stat(op.key)) throw new Changed(`folder "${op.key}" is not empty; kept`);
          if (!(err instanceof Deno.errors.NotFound)) throw err;
        }
        sink.emit({ event: "rmdir", path: op.key });
        return;
      case "conflict":
        throw new Error(op.message);
    }
  };

  /** Copies between two local folders go to Worker threads; everything else to the pool. */
  const runTransfers = async (transfers: Op[]) => {
    const local = src.localPath && dst.localPath && dst.copyInFromPath;
    const fast = local
      ? transfers.filter((o): o is Extract<Op, { op: "copy" | "update" }> =>
        o.op === "copy" || o.op === "update"
      )
      : [];
    if (fast.length < WORKER_THRESHOLD) {
      await runPool(transfers, options.concurrency, run, signal);
      return;
    }
    const rest = transfers.filter((o) => o.op !== "copy" && o.op !== "update");
    const jobs: CopyJob[] = fast.map((o, id) => ({
      id,
      src: src.localPath!(o.srcKey),
      dst: dst.localPath!(o.key),
      size: o.size,
      mtime: o.mtime,
      ...(o.op === "update" ? { expect: o.expect } : {}),
      known: o.mode ? { size: o.size, mode: o.mode } : { size: o.size },
    }));
    await Promise.all([
      runPool(rest, options.concurrency, run, signal),
      copyWithWorkers(jobs, options.workers ?? 2, (r) => {
        const op = fast[r.id]!;
        if (r.ok) {
          res.bytes += op.size;
          doneFiles++;
          res.outcomes.push({
            op,
            status: "done",
            entry: { key: op.key, kind: "file", size: op.size, mtime: op.mtime },
          });
          sink.emit({ event: op.op, path: op.key, bytes: op.size });
          progress();
        } else if (r.changed) {
          res.skipped++;
          const message = `"${op.key}" ${r.error}`;
          res.outcomes.push({ op, status: "skipped", message });
          sink.emit({ event: "skip", path: op.key, reason: message });
        } else {
          res.failed++;
          res.outcomes.push({ op, status: "failed", message: r.error });
          sink.emit({ event: "fail", path: op.key, op: op.op, error: r.error });
        }
      }, signal),
    ]);
  };

  const phase = (o: Op): number => {
    if ((o.op === "mkdir" || o.op === "copy" || o.op === "update") && o.late) return 5;
    if (o.op === "mkdir") return 0;
    if (o.op === "move") return o.kind === "dir" ? 1 : 2;
    if (o.op === "delete") return 3;
    if (o.op === "rmdir") return 4;
    return 2;
  };
  const byPhase: Op[][] = [[], [], [], [], [], []];
  for (const o of ops) byPhase[phase(o)]!.push(o);
  const mkdirs = byPhase[0]!;
  // Folders first, one depth at a time (parents before children), then renames.
  for (const o of mkdirs) {
    if (signal?.aborted) break;
    await run(o);
  }
  for (const o of byPhase[1]!) {
    if (signal?.aborted) break;
    await run(o);
  }
  await runTransfers(byPhase[2]!);
  progress(true);
  const deletions = [...byPhase[3]!, ...byPhase[4]!];
  if (res.failed > 0 && deletions.length > 0) {
    res.deletesHeld = true;
    sink.emit({
      event: "note",
      level: "warn",
      message: `${deletions.length} deletion(s) held back because earlier operations failed`,
    });
  } else {
    await runPool(byPhase[3]!, options.concurrency, run, signal);
    for (const o of byPhase[4]!) {
      if (signal?.aborted) break;
      await run(o);
    }
    for (const o of byPhase[5]!) {
      if (signal?.aborted) break;
      await run(o);
    }
  }
  res.interrupted = !!signal?.aborted;
  return res;
}

function keyOf(o: Op): string {
  return o.op === "move" ? o.to : o.key;
}
