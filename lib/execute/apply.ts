/**
 * One operation carried out once, its target re-checked first where it overwrites, renames or
 * deletes: a target that is not what the plan saw throws {@linkcode Changed}.
 *
 * @module
 */
import type { Entry } from "../backends/backend.ts";
import type { Expect, Op } from "../plan/types.ts";
import type { Execution, TransferOp } from "./execution.ts";
import { Changed } from "./failures.ts";
import { retire, trashOf } from "./retire.ts";
import { transfer } from "./transfer.ts";

/**
 * Whether an entry is the version the plan expects.
 *
 * @param e The entry as it is now.
 * @param expect What the plan saw.
 * @returns True when it is that version.
 */
export function matches(e: Entry | undefined, expect: Expect): boolean {
  if (!e || e.kind !== "file" || e.size !== expect.size) return false;
  if (expect.stamp !== undefined && e.stamp !== undefined) return e.stamp === expect.stamp;
  return e.mtime === expect.mtime;
}

/**
 * Carry out one operation (no retry) and report it.
 *
 * @param x The run.
 * @param op The operation.
 * @returns The entry it left at its member (copies, updates, retimes, file moves).
 * @throws {Changed} When the target is not what the plan saw.
 */
export async function applyOp(x: Execution, op: Op): Promise<Entry | undefined> {
  const dst = x.at(op);
  const { sink } = x;
  switch (op.op) {
    case "mkdir":
      await dst.mkdir(op.key);
      sink.emit({ event: "mkdir", path: op.key, location: dst.display });
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
        location: dst.display,
        event: "move",
        path: op.to,
        from: op.from,
        files: op.files,
      });
      // A moved file's entry where it is now (a store may give it a new stamp).
      return op.kind === "file" ? await dst.stat(op.to).catch(() => undefined) : undefined;
    }
    case "copy":
    case "update":
      return await copyOp(x, op);
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
      if ((await retire(x, op)) !== "gone") await dst.remove(op.key);
      sink.emit({
        event: "delete",
        path: op.key,
        bytes: op.size,
        location: dst.display,
        ...trashOf(x, op),
      });
      return;
    case "rmdir":
      try {
        await dst.rmdir(op.key);
      } catch (err) {
        if (await dst.stat(op.key)) throw new Changed(`folder "${op.key}" is not empty; kept`);
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      sink.emit({ event: "rmdir", path: op.key, location: dst.display });
      return;
  }
}

/** A copy or an update (its target re-checked first), counted and reported. */
async function copyOp(x: Execution, op: TransferOp): Promise<Entry> {
  const dst = x.at(op);
  // A retried overwrite whose old version went to the trash already is not checked again (its
  // path may be empty now).
  if (op.op === "update" && !x.trashed.has(op)) {
    if (!matches(await dst.stat(op.key), op.expect)) {
      throw new Changed(`"${op.key}" changed in the destination since the scan; left as it is`);
    }
    await retire(x, op);
  }
  const { progress } = x;
  let flowed = 0;
  let entry: Entry;
  try {
    entry = await transfer(x.from(op), op.srcKey, dst, op.key, {
      size: op.size,
      mtime: op.mtime,
      ...(op.mtimeNs ? { mtimeNs: op.mtimeNs } : {}),
    }, (n) => {
      flowed += n;
      progress.moving += n;
    }, x.signal);
  } finally {
    progress.moving -= flowed;
  }
  // The bytes the destination holds (each backend's write checks them), not the plan's.
  x.res.bytes += entry.size;
  progress.files++;
  x.sink.emit({
    event: op.op,
    path: op.key,
    bytes: entry.size,
    location: dst.display,
    ...trashOf(x, op),
  });
  progress.report();
  return entry;
}
