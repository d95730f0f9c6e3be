/**
 * The executor: the only code that changes storage. It re-checks each target just before it
 * overwrites or deletes it, and runs no deletion after an earlier failure.
 *
 * @module
 */
import {
  type Backend,
  type BulkResult,
  type Entry,
  fastPath,
  osPathOf,
  type WriteMeta,
} from "../backends/backend.ts";
import { type Expect, type Op, opsOf, type Plan, type Step, withoutOps } from "../plan/types.ts";
import type { EventSink } from "./events.ts";
import { CopyStopped, describeError, SourceChanged, TargetChanged } from "../errors.ts";
import { runPool } from "../util/pool.ts";
import { bytesOf } from "../util/streams.ts";
import { repeat, sleep } from "../util/timer.ts";

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
}

/** A transfer that fails is tried this many times in all (network faults pass). */
const TRANSFER_ATTEMPTS = 3;
/** This many failures in a row that say the location cannot be reached stop the run. */
const UNREACHABLE_IN_A_ROW = 3;

/** Whether an error is (or was caused by) an interruption of the run. */
function isInterruption(err: unknown): boolean {
  for (let e = err, i = 0; e instanceof Error && i < 5; e = e.cause, i++) {
    if (e instanceof Interrupted) return true;
  }
  return false;
}

/** Errors that trying again cannot mend. */
function isFinal(err: unknown): boolean {
  return err instanceof Changed || err instanceof TargetChanged || err instanceof SourceChanged ||
    err instanceof CopyStopped || isInterruption(err) || isDiskFull(err) ||
    err instanceof Deno.errors.PermissionDenied ||
    err instanceof Deno.errors.NotFound || err instanceof Deno.errors.AlreadyExists ||
    err instanceof Deno.errors.IsADirectory || err instanceof Deno.errors.NotADirectory;
}

/**
 * Whether an error says the disk is full (or the user's quota used up): a moment later it is
 * as full, and each retry of each file that did not fit held the run up by 1.5 s.
 */
function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * Whether an error says the other end is gone (refused, unknown host, unreachable, or a store
 * that does not answer and was given up after its retries).
 */
export function isUnreachable(err: unknown): boolean {
  // A backend's own error may say so (FTP's "nothing answers at host port N").
  if ((err as { unreachable?: unknown })?.unreachable === true) return true;
  const text = `${(err as { code?: string })?.code ?? ""} ${
    ((err as { cause?: { code?: string } })?.cause)?.code ?? ""
  } ${err instanceof Error ? err.message : String(err)}`;
  return /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|Connection refused|Cannot reach|does not answer/i
    .test(text);
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
  onBytes?: (n: number) => void,
  signal?: AbortSignal,
): Promise<Entry> {
  const copyIn = fastPath(dst, "copyInFromPath");
  const path = copyIn ? osPathOf(src, srcKey) : undefined;
  if (copyIn && path !== undefined) return await copyIn(path, key, meta);
  if (signal?.aborted) throw new Interrupted();
  const data = await src.read(srcKey);
  // A small file read whole goes to the writer as it is: nothing to count chunk by chunk, and
  // no large write to cut short.
  const whole = bytesOf(data);
  if (whole) {
    onBytes?.(whole.byteLength);
    return await dst.write(key, data, meta);
  }
  let onAbort = () => {};
  // The bytes flow through here: counted for progress, and cut when the run is interrupted, so
  // that the writer drops what it wrote (a multipart upload is aborted, a temporary file
  // removed) instead of finishing a large file after Ctrl-C or SIGTERM.
  const watched = data.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(c) {
        onAbort = () => c.error(new Interrupted());
        signal?.addEventListener("abort", onAbort, { once: true });
      },
      transform(chunk, c) {
        onBytes?.(chunk.byteLength);
        c.enqueue(chunk);
      },
    }),
  );
  try {
    return await dst.write(key, watched, meta);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
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

/** A transfer cut short because the run was interrupted: not a failure, nothing written. */
export class Interrupted extends Error {
  override name = "Interrupted";
  constructor() {
    super("interrupted before it was complete; nothing was written");
  }
}

function matches(e: Entry | undefined, expect: Expect): boolean {
  if (!e || e.kind !== "file" || e.size !== expect.size) return false;
  if (expect.stamp !== undefined && e.stamp !== undefined) return e.stamp === expect.stamp;
  return e.mtime === expect.mtime;
}

class Changed extends Error {}

/**
 * Carry out a plan: its steps in the order given, each step's operations in parallel or one
 * by one as the plan says. Operations name the members they act on.
 *
 * @param plan The plan.
 * @param members The job's locations, indexed by the operations' `at` and `srcAt`.
 * @param options Concurrency, event sink and interruption signal.
 * @returns Per-operation outcomes and totals.
 */
export async function execute(
  plan: Pick<Plan, "steps">,
  members: readonly Backend[],
  options: ExecuteOptions,
): Promise<ExecResult> {
  const ops = opsOf(plan);
  const at = (o: Op): Backend => members[o.at]!;
  const from = (o: Extract<Op, { op: "copy" | "update" }>): Backend => members[o.srcAt]!;
  const isLocalCopy = (o: Op) =>
    (o.op === "copy" || o.op === "update") && from(o).caps.local && at(o).caps.local &&
    fastPath(at(o), "copyInFromPath") !== undefined;
  const { sink } = options;
  // Our own stop: the caller's signal, or a location that can no longer be reached.
  const halt = new AbortController();
  const signal = halt.signal;
  const onAbort = () => halt.abort();
  if (options.signal?.aborted) halt.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let unreachableInARow = 0;
  let lostReason: string | undefined;
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
  /** Bytes of files still under way (streams count as they flow; Workers in KiB). */
  let moving = 0;
  /** Bulk copies under way, each telling how many of its bytes are in flight. */
  const inFlight = new Set<() => number>();
  const progress = (force = false) => {
    const now = performance.now();
    if (!force && now - lastProgress < 100) return;
    lastProgress = now;
    const bytes = Math.min(
      totalBytes,
      res.bytes + moving + [...inFlight].reduce((n, f) => n + f(), 0),
    );
    sink.emit({ event: "progress", files: doneFiles, totalFiles, bytes, totalBytes });
  };
  // A single large file shows progress too: the bar is refreshed while bytes move.
  const ticker = totalBytes > 0 ? repeat(250, () => progress()) : undefined;

  const run = async (op: Op) => {
    for (let attempt = 1;; attempt++) {
      try {
        const entry = await apply(op);
        res.outcomes.push(entry ? { op, status: "done", entry } : { op, status: "done" });
        unreachableInARow = 0;
        return;
      } catch (err) {
        if (err instanceof Changed || err instanceof TargetChanged) {
          res.skipped++;
          res.outcomes.push({ op, status: "skipped", message: err.message });
          sink.emit({
            location: at(op).display,
            event: "skip",
            path: keyOf(op),
            reason: err.message,
          });
          return;
        }
        const transferOp = op.op === "copy" || op.op === "update";
        if (
          transferOp && !isLocalCopy(op) && attempt < TRANSFER_ATTEMPTS && !isFinal(err) &&
          !signal.aborted && !isUnreachable(err)
        ) {
          const wait = (options.retryDelay ?? 500) * 2 ** (attempt - 1);
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
        if (isUnreachable(err)) {
          if (++unreachableInARow >= UNREACHABLE_IN_A_ROW && !lostReason) {
            lostReason = message;
            halt.abort();
          }
        } else unreachableInARow = 0;
        if (lostReason && unreachableInARow > UNREACHABLE_IN_A_ROW) return; // said once already
        sink.emit({
          location: at(op).display,
          event: "fail",
          path: keyOf(op),
          op: op.op,
          error: message,
        });
        return;
      }
    }
  };

  const apply = async (op: Op): Promise<Entry | undefined> => {
    const dst = at(op);
    switch (op.op) {
      case "mkdir":
        await dst.mkdir(op.key);
        sink.emit({ event: "mkdir", path: op.key, location: at(op).display });
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
        sink.emit({
          location: at(op).display,
          event: "move",
          path: op.to,
          from: op.from,
          files: op.files,
        });
        // A moved file's entry where it is now (a store may give it a new stamp).
        return op.kind === "file" ? await dst.stat(op.to).catch(() => undefined) : undefined;
      }
      case "copy":
      case "update": {
        if (op.op === "update" && !matches(await dst.stat(op.key), op.expect)) {
          throw new Changed(`"${op.key}" changed in the destination since the scan; left as it is`);
        }
        let flowed = 0;
        let entry: Entry;
        try {
          entry = await transfer(from(op), op.srcKey, dst, op.key, {
            size: op.size,
            mtime: op.mtime,
            ...(op.mtimeNs ? { mtimeNs: op.mtimeNs } : {}),
          }, (n) => {
            flowed += n;
            moving += n;
          }, signal);
        } finally {
          moving -= flowed;
        }
        // The bytes the destination holds (each backend's write checks them), not the plan's.
        res.bytes += entry.size;
        doneFiles++;
        sink.emit({ event: op.op, path: op.key, bytes: entry.size, location: at(op).display });
        progress();
        return entry;
      }
      case "retime": {
        if (!matches(await dst.stat(op.key), op.expect)) {
          throw new Changed(`"${op.key}" changed in the destination since the scan; left as it is`);
        }
        if (!dst.setModTime) throw new Error("this location cannot set a file's time");
        const entry = await dst.setModTime(op.key, op.mtime);
        sink.emit({ event: "retime", path: op.key, location: dst.display });
        return entry;
      }
      case "delete":
        if (!matches(await dst.stat(op.key), op.expect)) {
          throw new Changed(`"${op.key}" changed in the destination since the scan; not deleted`);
        }
        await dst.remove(op.key);
        sink.emit({ event: "delete", path: op.key, bytes: op.size, location: at(op).display });
        return;
      case "rmdir":
        try {
          await dst.rmdir(op.key);
        } catch (err) {
          if (await dst.stat(op.key)) throw new Changed(`folder "${op.key}" is not empty; kept`);
          if (!(err instanceof Deno.errors.NotFound)) throw err;
        }
        sink.emit({ event: "rmdir", path: op.key, location: at(op).display });
        return;
    }
  };

  /** Copies between two local folders go to Worker threads; everything else to the pool. */
  /**
   * A parallel step: transfers a destination can take in bulk from their source (two local
   * folders: copy Workers) go to it; everything else to the pool.
   */
  const runParallel = async (ops: Op[]) => {
    const groups = new Map<string, Extract<Op, { op: "copy" | "update" }>[]>();
    const rest: Op[] = [];
    for (const o of ops) {
      if ((o.op === "copy" || o.op === "update") && at(o).caps.fast?.copyMany) {
        const k = `${o.srcAt}>${o.at}`;
        const g = groups.get(k);
        if (g) g.push(o);
        else groups.set(k, [o]);
      } else rest.push(o);
    }
    const bulk: Promise<void>[] = [];
    for (const group of groups.values()) {
      // The operations are the files (a copy of each would cost 20 MB at 200,000 files).
      const handle = fastPath(at(group[0]!), "copyMany")!(
        from(group[0]!),
        group,
        (r) => reportBulk(group[r.id]!, r),
        signal,
      );
      if (!handle) {
        rest.push(...group);
        continue;
      }
      inFlight.add(handle.inFlight);
      bulk.push(handle.done.finally(() => inFlight.delete(handle.inFlight)));
    }
    await Promise.all([runPool(rest, options.concurrency, run, signal), ...bulk]);
  };

  const reportBulk = (op: Extract<Op, { op: "copy" | "update" }>, r: BulkResult) => {
    const location = at(op).display;
    if (r.ok) {
      res.bytes += r.size;
      doneFiles++;
      res.outcomes.push({
        op,
        status: "done",
        entry: { key: op.key, kind: "file", size: r.size, mtime: r.mtime },
      });
      sink.emit({ event: op.op, path: op.key, bytes: r.size, location });
      progress();
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
  };

  const deletions = (s: Step) => s.ops.filter((o) => o.op === "delete" || o.op === "rmdir").length;
  for (const [i, step] of plan.steps.entries()) {
    if (signal.aborted) break;
    if (step.guarded && (res.failed > 0 || (options.holdDeletes && deletions(step) > 0))) {
      const held = plan.steps.slice(i).filter((s) => s.guarded).reduce(
        (n, s) => n + deletions(s),
        0,
      );
      res.deletesHeld = held > 0;
      if (held > 0) {
        sink.emit({
          event: "note",
          level: "warn",
          message: `${held} deletion(s) held back because earlier operations failed`,
        });
      }
      break;
    }
    if (step.parallel) await runParallel(step.ops);
    else {
      for (const o of step.ops) {
        if (signal.aborted) break;
        await run(o);
      }
    }
    if (step.ops.some((o) => o.op === "copy" || o.op === "update")) progress(true);
  }
  ticker?.();
  options.signal?.removeEventListener("abort", onAbort);
  res.interrupted = !!options.signal?.aborted;
  if (lostReason) {
    const attempted = new Set(res.outcomes.map((o) => o.op));
    const notAttempted = ops.filter((o) => !attempted.has(o)).length;
    res.failed += notAttempted;
    res.stopped = { reason: lostReason, notAttempted };
    sink.emit({
      event: "note",
      level: "warn",
      message: `Stopped: ${lostReason}; ${notAttempted} operation(s) not attempted`,
    });
  }
  return res;
}

function keyOf(o: Op): string {
  return o.op === "move" ? o.to : o.key;
}
