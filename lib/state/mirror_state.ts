/**
 * A mirror's state: each member's `holds` rows (with the agreed version each one held) and the
 * job's `agreed` rows, read for the planner and written back from what a pass did — in one
 * transaction, after every transactional backend made its writes durable.
 *
 * @module
 */
import type { Entry } from "../backends/backend.ts";
import type { Outcome } from "../execute/execute.ts";
import type { Decision, MirrorPlan } from "../plan/mirror.ts";
import type { Op } from "../plan/types.ts";
import { inScope } from "../paths.ts";
import { Batch, type HashRow, type StateStore, underScope } from "./store.ts";

/**
 * A row of `holds`: what one member held of a path when the job last agreed on it. The planner
 * compares the member's listing with it to tell what the member did since (kept, changed,
 * deleted).
 *
 * Invariants: `size` -1 is a folder (its time 0), any other size a file; `ver` is the agreed
 * version the member held, 0 for one it never agreed on (written while its source was edited,
 * or a loser kept as a conflict copy): such a hold never proves a deletion of the agreed
 * version; `ino`, `dev` 0 and `stamp` null where the location has none.
 */
export interface HoldRow {
  size: number;
  mtime: number;
  ino: number;
  dev: number;
  stamp: string | null;
  /** The agreed version this member held (0: one it never agreed on). */
  ver: number;
  /**
   * Recorded within a tick of the file's own time: an edit in that tick keeps size and time, so
   * size and time cannot prove it unchanged (git's "racily clean"); its content is compared.
   * Read from the row's `synced_at`, never stored.
   */
  racy?: boolean;
}

/**
 * A row of `agreed`: the version of a path the job last agreed on.
 *
 * Invariants: `ver` only grows (each agreed change of the content or the kind adds one);
 * `deleted` is a tombstone, kept while a member still holds the path (dropped by
 * {@linkcode MirrorState.write} once none does); size -1 is a folder (a folder's tombstone
 * too), a file's tombstone has size and time 0.
 */
export interface AgreedRow {
  ver: number;
  kind: "file" | "dir" | "deleted";
  size: number;
  mtime: number;
}

/**
 * A file whose time is this close to when its hold was recorded may have been edited again in
 * the same tick without its size or time changing: its content is compared next pass.
 */
const RACY_MS = 1000;

/** A hold to write: the row and its path. */
export interface HoldWrite extends HoldRow {
  path: string;
}

/** What a pass changes in the state. */
export interface MirrorChanges {
  /** By member index. */
  holds: { upserts: HoldWrite[]; deletes: string[] }[];
  agreed: { upserts: (AgreedRow & { path: string })[]; deletes: string[] };
  /** Hashes computed this pass, by member index (the location's hash cache). */
  seen: { path: string; size: number; mtime: number; ino: number; sha256: string }[][];
  /**
   * Paths this pass wrote, by member index: what the hash cache knew of them is dropped (a
   * version written over another of the same size and time, a 2 s tick apart or a tick of a
   * server that keeps no times, would be known by the hash of the one it replaced).
   */
  rewritten?: string[][];
}

/**
 * A mirror job's rows in the state database.
 *
 * @example A first pass recorded, then read back
 * ```ts
 * import assert from "node:assert/strict";
 * import { StateStore } from "./store.ts";
 * const store = StateStore.open(":memory:");
 * const s = new MirrorState(store, "mirror A > B", ["A", "B"]);
 * s.write({
 *   holds: [{ upserts: [{ path: "x", size: 1, mtime: 2, ino: 0, dev: 0, stamp: null, ver: 1 }], deletes: [] }, { upserts: [], deletes: [] }],
 *   agreed: { upserts: [{ path: "x", ver: 1, kind: "file", size: 1, mtime: 2 }], deletes: [] },
 *   seen: [[], []],
 * });
 * assert.equal(s.holds(0).get("x")?.ver, 1);
 * assert.equal(s.files(0), 1);
 * assert.equal(s.agreed().get("x")?.kind, "file");
 * store.close();
 * ```
 */
export class MirrorState {
  readonly store: StateStore;
  readonly job: string;
  readonly locs: readonly string[];
  readonly readOnly: boolean;
  #ids: { job: number; loc: number }[];

  /**
   * @param store The database.
   * @param job The job's key.
   * @param locs The members' ids, in order.
   * @param readOnly Write nothing (a dry run).
   * @param places Each member's place in the job (its rank by place name), and whether it is
   * missing now: a missing member is known by the id the job recorded at its place (a folder
   * that is gone has no marker to name it).
   */
  constructor(
    store: StateStore,
    job: string,
    locs: readonly string[],
    readOnly = false,
    places?: readonly { rank: number; missing: boolean }[],
  ) {
    this.store = store;
    this.job = job;
    this.readOnly = readOnly;
    const order = locs.map((_, i) => i).sort((x, y) =>
      (places?.[x]?.rank ?? x) - (places?.[y]?.rank ?? y)
    );
    const ids: { job: number; loc: number }[] = [];
    const names = [...locs];
    for (const i of order) {
      if (places?.[i]?.missing) {
        const [row] = store.all(
          `SELECT l.name AS name FROM members m JOIN locations l ON l.id = m.loc
           JOIN jobs j ON j.id = m.job WHERE j.key = ? AND m.pos = ?`,
          [job, places[i]!.rank],
        ) as { name: string }[];
        if (row) names[i] = row.name;
      }
      ids[i] = store.member(job, names[i]!, !readOnly);
    }
    this.locs = names;
    this.#ids = ids;
  }

  /**
   * A member's hold rows (folders with size -1), all of them or those in scope.
   *
   * @param i The member's index.
   * @param scope Only rows at or below these keys.
   * @returns Rows by path.
   */
  holds(i: number, scope?: readonly string[]): Map<string, HoldRow> {
    const { job, loc } = this.#ids[i]!;
    const out = new Map<string, HoldRow>();
    if (job < 0 || loc < 0) return out;
    const under = underScope(scope);
    const [r] = this.store.all(
      `SELECT json_group_array(json_array(path, size, mtime, ino, dev, stamp, ver, synced_at))
       AS j FROM holds WHERE job = ? AND loc = ?${under.sql}`,
      [job, loc, ...under.args],
    ) as { j: string }[];
    for (const [path, size, mtime, ino, dev, stamp, ver, at] of JSON.parse(r!.j)) {
      if (scope && !inScope(path, scope)) continue;
      // One shape for every row (a property added to some only makes every read slower).
      out.set(path, { size, mtime, ino, dev, stamp, ver, racy: size >= 0 && at - mtime < RACY_MS });
    }
    return out;
  }

  /**
   * How many files a member held when it last took part (0 when never).
   *
   * @param i The member's index.
   */
  files(i: number): number {
    const { job, loc } = this.#ids[i]!;
    const [r] = this.store.all(
      "SELECT count(*) AS n FROM holds WHERE job = ? AND loc = ? AND size >= 0",
      [job, loc],
    ) as { n: number }[];
    return r?.n ?? 0;
  }

  /**
   * Whether a member took part in a pass this job recorded: its root was there then, and a
   * root that is missing now is not made again (an unplugged stick must not come back as an
   * empty folder on the disk it was mounted on).
   *
   * @param i The member's index.
   */
  recorded(i: number): boolean {
    const { job, loc } = this.#ids[i]!;
    if (job < 0 || loc < 0) return false;
    const [r] = this.store.all("SELECT files FROM members WHERE job = ? AND loc = ?", [
      job,
      loc,
    ]) as { files: number | null }[];
    return r !== undefined && r.files !== null;
  }

  /**
   * Record that members took part in a pass (a pass that wrote no rows, such as a first pass
   * over empty folders, records them here).
   *
   * @param members The members' indexes.
   */
  markTookPart(members: readonly number[]): void {
    if (this.readOnly) return;
    this.store.transaction(() => {
      for (const i of members) {
        const { job, loc } = this.#ids[i]!;
        this.store.run(
          `UPDATE members SET files = (SELECT count(*) FROM holds WHERE job = ?1 AND loc = ?2
             AND size >= 0) WHERE job = ?1 AND loc = ?2 AND files IS NULL`,
          [job, loc],
        );
      }
    });
  }

  /**
   * The job's agreed rows, all or those in scope.
   *
   * @param scope Only rows at or below these keys.
   */
  agreed(scope?: readonly string[]): Map<string, AgreedRow> {
    const job = this.#ids[0]?.job ?? -1;
    const out = new Map<string, AgreedRow>();
    if (job < 0) return out;
    const under = underScope(scope);
    const [r] = this.store.all(
      `SELECT json_group_array(json_array(path, ver, kind, size, mtime)) AS j
       FROM agreed WHERE job = ?${under.sql}`,
      [job, ...under.args],
    ) as { j: string }[];
    for (const [path, ver, kind, size, mtime] of JSON.parse(r!.j)) {
      if (scope && !inScope(path, scope)) continue;
      out.set(path, { ver, kind, size, mtime });
    }
    return out;
  }

  /**
   * A member's hash cache (the location's, whichever job filled it).
   *
   * @param i The member's index.
   */
  hashes(i: number): Map<string, HashRow> {
    return this.store.hashes(this.#ids[i]!.loc);
  }

  /**
   * The digests of the members' listings in the last pass that found nothing to do (undefined
   * for a member without one).
   */
  digests(): (string | undefined)[] {
    return this.#ids.map(({ job, loc }) => {
      const [r] = this.store.all("SELECT digest FROM digests WHERE job = ? AND loc = ?", [
        job,
        loc,
      ]) as { digest: string }[];
      return r?.digest;
    });
  }

  /**
   * Remember the members' listings of a pass that found nothing to do.
   *
   * @param digests One per member.
   */
  setDigests(digests: readonly string[]): void {
    if (this.readOnly) return;
    this.store.transaction(() => {
      this.#ids.forEach(({ job, loc }, i) => {
        this.store.run("INSERT OR REPLACE INTO digests (job, loc, digest) VALUES (?, ?, ?)", [
          job,
          loc,
          digests[i]!,
        ]);
      });
    });
  }

  /**
   * Write a pass's changes in one transaction; tombstones no member holds any more are dropped.
   *
   * @param c The changes.
   */
  write(c: MirrorChanges): void {
    if (this.readOnly) throw new Error("a read-only state view cannot be written");
    const job = this.#ids[0]!.job;
    this.store.transaction(() => {
      // Something changed: no listing digest stands for "nothing to do" any more.
      this.store.run("DELETE FROM digests WHERE job = ?", [job]);
      c.holds.forEach((h, i) => {
        const loc = this.#ids[i]!.loc;
        for (const p of h.deletes) {
          this.store.run("DELETE FROM holds WHERE job = ? AND loc = ? AND path = ?", [job, loc, p]);
        }
        const now = Date.now();
        const rows = new Batch(
          this.store,
          (n) =>
            "INSERT OR REPLACE INTO holds (job, loc, path, ver, size, mtime, ino, dev, stamp, " +
            `synced_at) VALUES ${
              Array(n).fill(`(${job}, ${loc}, ?, ?, ?, ?, ?, ?, ?, ${now})`).join(", ")
            }`,
          7,
        );
        for (const u of h.upserts) {
          rows.add(u.path, u.ver, u.size, u.mtime, u.ino, u.dev, u.stamp);
        }
        rows.flush();
        for (const s of c.seen[i] ?? []) {
          this.store.run(
            "INSERT OR REPLACE INTO seen (loc, path, size, mtime, ino, sha256) VALUES (?, ?, ?, ?, ?, ?)",
            [loc, s.path, s.size, s.mtime, s.ino, s.sha256],
          );
        }
        // After the hashes of this pass: one read before the path was written is stale too.
        for (const p of c.rewritten?.[i] ?? []) {
          this.store.run("DELETE FROM seen WHERE loc = ? AND path = ?", [loc, p]);
        }
        this.store.run(
          `UPDATE members SET files = (SELECT count(*) FROM holds WHERE job = ?1 AND loc = ?2
             AND size >= 0) WHERE job = ?1 AND loc = ?2`,
          [job, loc],
        );
      });
      for (const p of c.agreed.deletes) {
        this.store.run("DELETE FROM agreed WHERE job = ? AND path = ?", [job, p]);
      }
      const agreed = new Batch(
        this.store,
        (n) =>
          "INSERT OR REPLACE INTO agreed (job, path, ver, kind, size, mtime) VALUES " +
          Array(n).fill(`(${job}, ?, ?, ?, ?, ?)`).join(", "),
        5,
      );
      for (const a of c.agreed.upserts) agreed.add(a.path, a.ver, a.kind, a.size, a.mtime);
      agreed.flush();
      this.store.run(
        `DELETE FROM agreed WHERE job = ?1 AND kind = 'deleted' AND NOT EXISTS
           (SELECT 1 FROM holds h WHERE h.job = ?1 AND h.path = agreed.path)`,
        [job],
      );
    });
  }
}

function holdOf(path: string, e: Entry, ver: number): HoldWrite {
  return {
    path,
    size: e.kind === "dir" ? -1 : e.size,
    mtime: e.kind === "dir" ? 0 : e.mtime,
    ino: e.ino ?? 0,
    dev: e.dev ?? 0,
    stamp: e.stamp ?? null,
    ver,
  };
}

/**
 * What a pass changes in the state, from its decisions and the outcome of each operation: a
 * member whose operation did not happen keeps its hold (it is behind, and catches up next
 * pass); one whose losing version was kept as a conflict copy is recorded as behind, so that
 * its version is not taken for a fresh change next time.
 *
 * @param plan The plan that ran.
 * @param outcomes The executor's outcomes (none for operations never attempted).
 * @param members How many members the job has.
 * @param precisions Each member's time precision, ms (a time a write gives back within it is
 *   the time asked for: a FAT stick keeps 2 s).
 * @returns The changes to write.
 */
export function deriveMirror(
  plan: Pick<MirrorPlan, "decisions">,
  outcomes: readonly Outcome[],
  members: number,
  precisions: readonly number[] = [],
): MirrorChanges {
  const byOp = new Map<Op, Outcome>();
  for (const o of outcomes) byOp.set(o.op, o);
  const done = (op: Op) => byOp.get(op)?.status === "done";
  const out: MirrorChanges = {
    holds: Array.from({ length: members }, () => ({ upserts: [], deletes: [] })),
    agreed: { upserts: [], deletes: [] },
    seen: Array.from({ length: members }, () => []),
    rewritten: Array.from({ length: members }, () => []),
  };
  for (const o of outcomes) {
    if (o.status !== "done") continue;
    const op = o.op;
    if (op.op === "copy" || op.op === "update") out.rewritten![op.at]!.push(op.key);
    else if (op.op === "move" && op.kind === "file") out.rewritten![op.at]!.push(op.to);
  }
  for (const d of plan.decisions) recordDecision(d, out, byOp, done, precisions);
  return out;
}

/**
 * Whether a copy wrote another version than the one planned: its source was edited while the
 * pass ran, and the copy took the file as it then was (size and time of that version). Members
 * reached before and after the edit hold different versions, and neither is the agreed one: each
 * is recorded as holding a version it never agreed on (0), so the next pass brings it to the
 * winner and never takes it for an edit of its own. Recorded as the agreed version, those
 * written just now looked racily clean, their contents differed, and every one of them counted as
 * changed: a conflict copy was kept where only one location was ever edited.
 */
function landedOther(
  op: Extract<Op, { op: "copy" | "update" }>,
  e: Entry,
  precision = 1,
): boolean {
  // Within the member's precision the time is the one asked for, kept as the member can: a
  // write that gives back the time it stored (2 s on a FAT stick) wrote the planned version.
  return e.size !== op.size ||
    Math.abs(e.mtime - op.mtime) >= Math.max(1, precision, e.precision ?? 0);
}

function recordDecision(
  d: Decision,
  out: MirrorChanges,
  byOp: Map<Op, Outcome>,
  done: (op: Op) => boolean,
  precisions: readonly number[],
): void {
  out.agreed.upserts.push({ path: d.path, ver: d.ver, kind: d.kind, size: d.size, mtime: d.mtime });
  d.fates.forEach((f, j) => {
    if (!f) return;
    const h = out.holds[j]!;
    if (f.kind === "holds") h.upserts.push(holdOf(d.path, f.entry, d.ver));
    else if (f.kind === "none") h.deletes.push(d.path);
    else if (done(f.op)) {
      const op = f.op;
      if (op.op === "copy" || op.op === "update") {
        const e = byOp.get(op)!.entry ??
          { key: d.path, kind: "file" as const, size: op.size, mtime: op.mtime };
        h.upserts.push(holdOf(d.path, e, landedOther(op, e, precisions[j]) ? 0 : d.ver));
      } else if (op.op === "mkdir") {
        h.upserts.push(holdOf(d.path, { key: d.path, kind: "dir", size: 0, mtime: 0 }, d.ver));
      } else if (op.op === "move") {
        if (f.moved) h.upserts.push(holdOf(d.path, byOp.get(op)!.entry ?? f.moved, d.ver));
        else h.deletes.push(d.path);
      } else h.deletes.push(d.path);
    } else if (f.kept && done(f.kept.op)) {
      h.upserts.push(holdOf(d.path, f.kept.entry, f.kept.ver));
    }
  });
}
