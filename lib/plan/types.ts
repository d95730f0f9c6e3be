/**
 * The plan is data: what the executor will do, and nothing else. `--dry-run` prints it and
 * never reaches the executor.
 *
 * @module
 */

/** Expected state of a destination entry, re-checked just before it is overwritten or deleted. */
export interface Expect {
  size: number;
  mtime: number;
  /**
   * Object stores: the entity tag, which changes whenever the object is replaced. When both
   * sides have one it decides (a listing may carry the upload time, a HEAD the stored mtime).
   */
  etag?: string;
}

/** One step of a plan. Keys are destination keys. */
export type Op =
  | { op: "mkdir"; key: string; late?: boolean }
  | {
    op: "copy";
    key: string;
    srcKey: string;
    size: number;
    mtime: number;
    late?: boolean;
    /** The content's SHA-256 when known before the copy (stores may keep it). */
    sha256?: string;
    /** Permission bits of a local source, as listed. */
    mode?: number;
    /** Nanoseconds within the millisecond of `mtime`, where the source listing knew them. */
    mtimeNs?: number;
  }
  | {
    op: "update";
    key: string;
    srcKey: string;
    size: number;
    mtime: number;
    expect: Expect;
    late?: boolean;
    sha256?: string;
    mode?: number;
    mtimeNs?: number;
  }
  | { op: "move"; kind: "file" | "dir"; from: string; to: string; size: number; files: number }
  | { op: "delete"; key: string; size: number; expect: Expect }
  | { op: "rmdir"; key: string }
  | { op: "conflict"; key: string; message: string };

/** A plan and its counts. */
export interface Plan {
  ops: Op[];
  /** Files in the destination before the run (for the `--max-delete` percentage). */
  destFiles: number;
}

/** Counts of a plan by kind, as the summary reports them. */
export interface PlanCounts {
  copied: number;
  updated: number;
  moved: number;
  deleted: number;
  conflicts: number;
  bytes: number;
}

/**
 * Count a plan's operations the way the summary does (a folder move counts its files).
 *
 * @param ops The plan's operations.
 * @returns Counts and the bytes to transfer.
 */
export function countPlan(ops: readonly Op[]): PlanCounts {
  const c: PlanCounts = { copied: 0, updated: 0, moved: 0, deleted: 0, conflicts: 0, bytes: 0 };
  for (const o of ops) {
    if (o.op === "copy") {
      c.copied++;
      c.bytes += o.size;
    } else if (o.op === "update") {
      c.updated++;
      c.bytes += o.size;
    } else if (o.op === "move") c.moved += o.files;
    else if (o.op === "delete") c.deleted++;
    else if (o.op === "conflict") c.conflicts++;
  }
  return c;
}
