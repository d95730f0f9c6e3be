/**
 * The plan is data: what the executor will do, and nothing else. `--dry-run` prints it and
 * never reaches the executor.
 *
 * @module
 */

/** Expected state of a destination entry, re-checked just before it is overwritten or deleted. */
export interface Expect {
  /** Bytes the entry had when listed. */
  size: number;
  /** Its modification time when listed, ms since the epoch (compared at the coarser precision). */
  mtime: number;
  /**
   * The entry's version stamp (S3: the entity tag), which changes whenever the content may
   * have. When both sides have one it decides (a listing may carry the upload time, a HEAD the
   * stored mtime).
   */
  stamp?: string;
}

/**
 * One operation of a plan. Every operation names the member it acts on (`at`, an index into
 * the job's locations); copies and updates also name the member they read from (`srcAt`).
 * Keys are keys at `at`.
 */
export type Op =
  | { op: "mkdir"; at: number; key: string }
  | {
    op: "copy";
    at: number;
    key: string;
    srcAt: number;
    srcKey: string;
    size: number;
    mtime: number;
    /** The content's SHA-256 when known before the copy (stores may keep it). */
    sha256?: string;
    /** Permission bits of a local source, as listed. */
    mode?: number;
    /** Nanoseconds within the millisecond of `mtime`, where the source listing knew them. */
    mtimeNs?: number;
  }
  | {
    op: "update";
    at: number;
    key: string;
    srcAt: number;
    srcKey: string;
    size: number;
    mtime: number;
    expect: Expect;
    sha256?: string;
    mode?: number;
    mtimeNs?: number;
  }
  | {
    op: "move";
    at: number;
    kind: "file" | "dir";
    from: string;
    to: string;
    size: number;
    files: number;
  }
  | {
    /** Same content, another time: set the time, send nothing (`--checksum` found them equal). */
    op: "retime";
    at: number;
    key: string;
    srcKey: string;
    size: number;
    mtime: number;
    expect: Expect;
  }
  | { op: "delete"; at: number; key: string; size: number; expect: Expect }
  | { op: "rmdir"; at: number; key: string };

/** What the planner found it cannot do (reported and counted, never executed). */
export interface Conflict {
  /** Index of the member (among the job's locations) where the conflict is. */
  at: number;
  /** The key at that member; nothing at or below it is placed this pass. */
  key: string;
  /** One line for the user: what clashes and how to resolve it. */
  message: string;
}

/**
 * A group of operations the executor runs before the next step begins: in parallel, or one by
 * one in the order given. The planner decides the order; the executor keeps it.
 */
export interface Step {
  /** What the step does, for timings and messages (`mkdir`, `move`, `transfer`, `delete`…). */
  name: string;
  /** The operations, in the order they are started. */
  ops: Op[];
  /** Run the operations at once (bounded by the backends' concurrency), else one by one. */
  parallel: boolean;
  /**
   * Destructive steps (deletions, and what waits for them): the run stops at a guarded step
   * once any earlier operation has failed, and, when it holds deletions (`holdDeletes`), at
   * the first guarded step that deletes; stopped, neither it nor any later step runs. A failed
   * copy must never be followed by the deletion of what it would have replaced.
   */
  guarded?: boolean;
}

/** A plan and its counts. */
export interface Plan {
  /** Steps in the order they run: folders made first, deletions last. */
  steps: Step[];
  /** What could not be planned; reported, never executed. */
  conflicts: Conflict[];
  /** Files in the destination before the run (for the `--max-delete` percentage). */
  destFiles: number;
}

/**
 * Every operation of a plan, in the order the executor runs its steps.
 *
 * @param plan The plan.
 * @returns The operations.
 */
export function opsOf(plan: Pick<Plan, "steps">): Op[] {
  return plan.steps.flatMap((s) => s.ops);
}

/**
 * A plan without the operations `drop` selects (steps left empty are removed).
 *
 * @param plan The plan.
 * @param drop Which operations to leave out.
 * @returns A new plan.
 */
export function withoutOps<P extends Plan>(plan: P, drop: (op: Op) => boolean): P {
  const steps = plan.steps
    .map((s) => ({ ...s, ops: s.ops.filter((o) => !drop(o)) }))
    .filter((s) => s.ops.length > 0);
  return { ...plan, steps };
}

/** Entries of one member whose content hash a planner needs before it can plan. */
export interface HashRequest {
  /** The member (index into the job's locations). */
  at: number;
  keys: readonly string[];
  /**
   * Those of `keys` whose size and time cannot prove them unchanged (racily clean): read anew,
   * never taken from the hash cache, which knows a file by its size and time alone.
   */
  uncached?: readonly string[];
}

/**
 * A planner: a pure function of a view of the job (listings, options, prior state) and the
 * content hashes it asked for. One-way sync has one; `mirror` brings another.
 *
 * `wants` sorts the view out once (the `index`: listings matched by name, paths in step set
 * apart) and `plan` is handed that index back, so that the work is done once per pass without
 * a cache keyed by the view's identity.
 */
export interface Planner<View, Index, P extends Plan = Plan> {
  /**
   * @param view What was listed and decided.
   * @returns The hashes {@linkcode Planner.plan} will need (none, most runs), and the index
   *   to give it.
   */
  wants(view: View): { requests: HashRequest[]; index: Index };
  /**
   * @param view The view `wants` was given.
   * @param hashes SHA-256 by key, one map per member (the listing's own hashes need not be in).
   * @param index What `wants` returned for this view.
   */
  plan(view: View, hashes: readonly ReadonlyMap<string, string>[], index: Index): P;
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
 * @param plan The plan.
 * @returns Counts and the bytes to transfer.
 */
export function countPlan(plan: Pick<Plan, "steps" | "conflicts">): PlanCounts {
  const c: PlanCounts = {
    copied: 0,
    updated: 0,
    moved: 0,
    deleted: 0,
    conflicts: plan.conflicts.length,
    bytes: 0,
  };
  const ops = opsOf(plan);
  for (const o of ops) {
    if (o.op === "copy") {
      c.copied++;
      c.bytes += o.size;
    } else if (o.op === "update") {
      c.updated++;
      c.bytes += o.size;
    } else if (o.op === "retime") c.updated++;
    else if (o.op === "move") c.moved += o.files;
    else if (o.op === "delete") c.deleted++;
  }
  return c;
}
