/**
 * Retire before destroy: the version a deletion or an overwrite would destroy is first kept in
 * the location's trash (`.ferry/trash/<run>/<path>`), through the location's own calls, so
 * that `sync` and `mirror` both get it from here. How, by what the location can do:
 *
 * - a deletion moves the file into the trash (`move`: a rename locally, on FTP and inside a
 *   ZIP; on S3 `keep`, one server-side copy, then the delete): the move is the deletion;
 * - an overwrite keeps the old version under a second name where the location can
 *   (`link`: a hard link locally; `keep` or `copy`: S3's server-side copy), and the new
 *   version then replaces it atomically: at no moment is neither there. Elsewhere (FTP) it is
 *   moved into the trash and the new version written after: a write that fails moves it back;
 *   a run killed between the two leaves the old version in the trash and the path empty, and
 *   the next run writes the new one. A ZIP archive's move and write land in one commit, so it
 *   has no such moment either.
 * - A store that refuses its own copy of an object it can still read has the content read and
 *   written into the trash by ferry.
 *
 * A retire that fails (a read-only trash, a full disk) fails the operation: the file is left as
 * it was, never destroyed unprotected.
 *
 * @module
 */
import type { Backend } from "../backends/backend.ts";
import { describeError } from "../errors.ts";
import type { Op } from "../plan/types.ts";
import { trashKey, type TrashWhy, writeManifest } from "../trash/layout.ts";
import type { Execution } from "./execution.ts";
import { RetireFailed } from "./failures.ts";

/** The trash of one run: where retired versions go (absent: the trash is off). */
export interface TrashOptions {
  /** The run's folder name in each location's trash (`runName` of its time). */
  run: string;
  /** The run's time (given to the record written at its end). */
  now: number;
}

/** A deletion or an overwrite: an operation that would destroy a version. */
export type DestroyingOp = Extract<Op, { op: "delete" | "update" }>;

/**
 * Keep the version at an operation's key in the trash, once per operation (a retried
 * overwrite keeps it only the first time).
 *
 * @param x The run.
 * @param op The deletion or overwrite.
 * @returns What the operation must still do: `"gone"` when the path is empty (a deletion is
 *   then done), `"kept"` when the old version is still at its path too; undefined when the
 *   trash is off.
 * @throws {RetireFailed} When the version could not be kept.
 */
export async function retire(x: Execution, op: DestroyingOp): Promise<"gone" | "kept" | undefined> {
  const trash = x.options.trash;
  if (!trash) return undefined;
  const done = x.trashed.get(op);
  if (done) return done.left;
  const b = x.at(op);
  const to = trashKey(trash.run, op.key);
  let left: "gone" | "kept";
  try {
    left = op.op === "delete"
      ? await moveAside(b, op.key, to, op.size)
      : await keepAside(b, op.key, to, op.expect.size);
  } catch (err) {
    // The store's own words first, as any failure of the file reads.
    throw new RetireFailed(
      `${describeError(err)}; the old version could not be kept in the trash ("${to}"), so ` +
        `the file was left as it is`,
      { cause: err },
    );
  }
  x.trashed.set(op, { key: to, left });
  return left;
}

/**
 * Where a retired operation's old version went, for its event.
 *
 * @param x The run.
 * @param op An operation.
 * @returns `{ trash: key }` when its old version was kept, else nothing.
 */
export function trashOf(x: Execution, op: Op): { trash?: string } {
  // Copies, the most of a first copy's events, never have one: not even looked up.
  if (op.op !== "update" && op.op !== "delete" || x.trashed.size === 0) return NONE;
  const t = x.trashed.get(op);
  return t ? { trash: t.key } : NONE;
}

const NONE: { trash?: string } = Object.freeze({});

/** A deletion: the file moved into the trash (copied and removed where it cannot move). */
async function moveAside(b: Backend, key: string, to: string, size: number): Promise<"gone"> {
  // A store that copies cheaply copies and deletes: S3's move would look at both keys first.
  const how = await orThroughFerry(
    b,
    key,
    to,
    () =>
      b.keep
        ? b.keep(key, to, size).then(() => b.remove(key))
        : b.move
        ? b.move(key, to)
        : Promise.reject(NO_WAY),
  );
  if (how === "copied") await b.remove(key);
  return "gone";
}

/** An overwrite: the old version kept under a second name where it can be, else moved. */
async function keepAside(
  b: Backend,
  key: string,
  to: string,
  size: number,
): Promise<"gone" | "kept"> {
  if (b.link) {
    try {
      await b.link(key, to);
      return "kept";
    } catch (err) {
      // A file system without hard links (FAT) moves it instead; one that refuses the trash
      // refuses the move too.
      if (!b.move) throw err;
    }
  }
  if (b.keep || b.copy) {
    await orThroughFerry(b, key, to, () => b.keep ? b.keep(key, to, size) : b.copy!(key, to));
    return "kept";
  }
  return await moveAside(b, key, to, size);
}

const NO_WAY = new Error("this location can neither move nor copy a file in place");

/**
 * The location's own way, or else the content read and written again by ferry: a store may
 * refuse to copy an object it can still read (s3rver, an object a killed upload left torn).
 * Where both fail, the first failure is the one reported.
 */
async function orThroughFerry(
  b: Backend,
  key: string,
  to: string,
  own: () => Promise<unknown>,
): Promise<"own" | "copied"> {
  try {
    await own();
    return "own";
  } catch (err) {
    // A folder that refuses a rename refuses a write as well.
    if (b.caps.local && err !== NO_WAY) throw err;
    try {
      const e = await b.stat(key);
      if (!e || e.kind !== "file") throw err;
      await b.write(to, await b.read(key), { size: e.size, mtime: e.mtime });
      return "copied";
    } catch {
      throw err;
    }
  }
}

/**
 * Each location's record of why its paths were kept, written at the end of the run (inside a
 * transactional location's batch, so it lands with them). A record that cannot be written is
 * reported; the versions are kept all the same.
 *
 * @param x The run.
 */
export async function recordTrash(x: Execution): Promise<void> {
  const trash = x.options.trash;
  if (!trash || x.trashed.size === 0) return;
  const done = new Set(x.res.outcomes.filter((o) => o.status === "done").map((o) => o.op));
  const byMember = new Map<number, Map<string, TrashWhy>>();
  for (const [op, { key, left }] of x.trashed) {
    const o = op as DestroyingOp;
    if (!done.has(op) && o.op === "update") {
      // The overwrite failed. Kept beside: the version is still at its path, the second name
      // only a spare. Moved: it goes back to its path, where it was before the run (left in
      // the trash where it cannot).
      const b = x.at(o);
      const back = left === "kept"
        ? b.remove(key).then(() => true)
        : (b.move?.(key, o.key) ?? Promise.reject(new Error("no move"))).then(() => true);
      if (await back.catch(() => false)) continue;
    }
    let m = byMember.get(o.at);
    if (!m) byMember.set(o.at, m = new Map());
    m.set(o.key, o.op === "delete" ? "deleted" : "overwritten");
  }
  for (const [at, why] of byMember) {
    const b = x.members[at]!;
    try {
      await writeManifest(b, trash.run, why, trash.now);
    } catch (err) {
      x.sink.emit({
        event: "note",
        level: "warn",
        message: `Cannot record why files were kept in the trash of ${b.display}: ${
          describeError(err)
        }`,
      });
    }
  }
}
