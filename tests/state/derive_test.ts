import assert from "node:assert/strict";
import type { Entry } from "../../lib/backends/backend.ts";
import type { Outcome } from "../../lib/execute/execute.ts";
import type { Op, Plan } from "../../lib/plan/types.ts";
import { deriveChanges, digestOf, type PassRecord } from "../../lib/state/derive.ts";
import type { RowDigest, StateChanges } from "../../lib/state/store.ts";

const f = (key: string, size = 1, mtime = 1000, ino = 0): Entry => ({
  key,
  kind: "file",
  size,
  mtime,
  ...(ino ? { ino, dev: 1 } : {}),
});
const copy = (key: string): Op => ({
  op: "copy",
  at: 1,
  key,
  srcAt: 0,
  srcKey: key,
  size: 1,
  mtime: 1000,
});
const plan = (...ops: Op[]): Pick<Plan, "steps" | "conflicts"> => ({
  steps: ops.length ? [{ name: "transfer", parallel: true, ops }] : [],
  conflicts: [],
});

/** What rows of one-byte files with one-character keys add up to (the tests' `f(x)`). */
const ones = (files: number): RowDigest => ({ files, bytes: files, chars: files });
const had = (src: RowDigest, dst = src) => () => ({ src, dst });

function pass(over: Partial<PassRecord>): PassRecord {
  return {
    ids: { src: "S", dst: "D" },
    src: [],
    dst: [],
    foldCase: false,
    plan: plan(),
    res: { outcomes: [], interrupted: false },
    hashes: { byMember: [new Map(), new Map()], fresh: [[], []] },
    now: 5,
    recorded: had(ones(0)),
    ...over,
  };
}

/** Changes as plain data: generators drained, only what a reader compares. */
const plain = (cs: StateChanges[] | undefined) =>
  cs?.map((c) => ({
    loc: c.loc,
    rows: [...c.upserts].map((r) => `${r.path}:${r.size}:${r.mtime}:${r.sha256 ?? "-"}`),
    deletes: c.deletes,
    ...(c.dirMoves?.length ? { dirMoves: c.dirMoves } : {}),
    ...(c.replaceAll ? { replaceAll: true } : {}),
    ...(c.replaceUnder ? { replaceUnder: c.replaceUnder } : {}),
    ...(c.agreed ? { agreed: true } : {}),
  }));

Deno.test("deriveChanges: a no-op whose rows count every file writes nothing", () => {
  const d = deriveChanges(pass({
    src: [f("a"), f("b")],
    dst: [f("a"), f("b")],
    recorded: had(ones(2)),
  }));
  assert.equal(d, undefined);
});

Deno.test("deriveChanges: a no-op over lost state rebuilds both members' rows from the listings", () => {
  const d = deriveChanges(pass({
    src: [f("b", 2), f("a")],
    dst: [f("a"), f("b", 2)],
    recorded: had(ones(0)),
  }))!;
  assert.equal(d.changes, undefined, "nothing recorded: the rebuild alone writes");
  assert.deepEqual(d.inStep, { files: 2, bytes: 3, chars: 2 });
  assert.deepEqual(plain(d.rebuild), [
    { loc: "S", rows: ["a:1:1000:-", "b:2:1000:-"], deletes: [], replaceAll: true, agreed: true },
    { loc: "D", rows: ["a:1:1000:-", "b:2:1000:-"], deletes: [], replaceAll: true },
  ]);
});

Deno.test("deriveChanges: copies done are recorded with the hash known; a failed one is not in step", () => {
  const ok: Outcome = {
    op: copy("a"),
    status: "done",
    entry: { key: "a", kind: "file", size: 1, mtime: 1000 },
  };
  const failed: Outcome = { op: copy("b"), status: "failed", message: "disk full" };
  const d = deriveChanges(pass({
    src: [f("a"), f("b"), f("c")],
    dst: [f("c")],
    plan: plan(ok.op, failed.op),
    res: { outcomes: [ok, failed], interrupted: false },
    hashes: { byMember: [new Map([["a", "aa"]]), new Map()], fresh: [[], []] },
    recorded: had(ones(1)),
  }))!;
  assert.deepEqual(d.inStep, ones(2), "a and c");
  assert.deepEqual(plain(d.changes), [
    { loc: "S", rows: ["a:1:1000:aa"], deletes: [], agreed: true },
    { loc: "D", rows: ["a:1:1000:aa"], deletes: [] },
  ]);
  assert.deepEqual(plain(d.rebuild)![1]!.rows, ["a:1:1000:aa", "c:1:1000:-"]);
});

Deno.test("deriveChanges: a file move moves both rows; a folder move moves the rows below it", () => {
  const fileMove: Op = {
    op: "move",
    at: 1,
    kind: "file",
    from: "old",
    to: "new",
    size: 3,
    files: 1,
  };
  const dirMove: Op = { op: "move", at: 1, kind: "dir", from: "x", to: "y", size: 1, files: 1 };
  const d = deriveChanges(pass({
    src: [f("new", 3, 7, 9), f("y/z")],
    dst: [f("old", 3, 7), f("x/z")],
    plan: { steps: [{ name: "move", parallel: false, ops: [dirMove, fileMove] }], conflicts: [] },
    res: {
      outcomes: [{ op: dirMove, status: "done" }, { op: fileMove, status: "done" }],
      interrupted: false,
    },
    recorded: had(ones(2)),
  }))!;
  assert.deepEqual(plain(d.changes), [
    {
      loc: "S",
      rows: ["y/z:1:1000:-", "new:3:7:-"],
      deletes: ["old"],
      dirMoves: [{ from: "x", to: "y" }],
      agreed: true,
    },
    { loc: "D", rows: ["new:3:7:-"], deletes: ["old"], dirMoves: [{ from: "x", to: "y" }] },
  ]);
});

Deno.test("deriveChanges: a deletion done drops both rows; a scoped pass rebuilds inside its scope only", () => {
  const del: Op = { op: "delete", at: 1, key: "d/gone", size: 1, expect: { size: 1, mtime: 1000 } };
  const d = deriveChanges(pass({
    src: [f("d/kept")],
    dst: [f("d/kept"), f("d/gone")],
    plan: { steps: [{ name: "delete", parallel: true, ops: [del] }], conflicts: [] },
    res: { outcomes: [{ op: del, status: "done" }], interrupted: false },
    scope: ["d"],
    recorded: had(ones(1), ones(2)),
  }))!;
  assert.deepEqual(plain(d.changes)!.map((c) => c.deletes), [["d/gone"], ["d/gone"]]);
  assert.deepEqual(plain(d.rebuild)!.map((c) => c.replaceUnder), [["d"], ["d"]]);
});

Deno.test("deriveChanges: a coarse listed time in step with a finer twin is recorded as the twin's where the rows' times stand in for the listing's", () => {
  // An FTP listing shows seconds (precision 1000); the local twin has milliseconds.
  const coarse = (key: string): Entry => ({ ...f(key, 1, 7000), precision: 1000 });
  const fine = (key: string) => f(key, 1, 7456);
  const rows = (timesStand?: readonly [boolean, boolean], src = [fine("a")], dst = [coarse("a")]) =>
    plain(
      deriveChanges(pass({ src, dst, ...(timesStand ? { timesStand } : {}) }))!.rebuild,
    )!.map((c) => c.rows);
  // Recorded as listed, the destination's 7000 would stand for the file's exact time on the next
  // run and differ from the source's 7456: everything sent again.
  assert.deepEqual(rows([false, true]), [["a:1:7456:-"], ["a:1:7456:-"]]);
  // The same the other way (the FTP server the source).
  assert.deepEqual(rows([true, false], [coarse("a")], [fine("a")]), [["a:1:7456:-"], [
    "a:1:7456:-",
  ]]);
  // A location that keeps exact times (its rows are not taken back) is recorded as listed.
  assert.deepEqual(rows([false, false]), [["a:1:7456:-"], ["a:1:7000:-"]]);
  assert.deepEqual(rows(), [["a:1:7456:-"], ["a:1:7000:-"]]);
  // Times further apart than the precision are not the twin's.
  const far = { ...coarse("a"), mtime: 5000 };
  assert.deepEqual(rows([false, true], [fine("a")], [far]), [["a:1:7456:-"], ["a:1:5000:-"]]);
});

Deno.test("deriveChanges: a no-op whose rows count every file but add up to other bytes or names rebuilds them", () => {
  const files = [f("a"), f("bb", 2)];
  const right: RowDigest = { files: 2, bytes: 3, chars: 3 };
  const noop = (src: RowDigest, dst = right) =>
    deriveChanges(pass({ src: files, dst: files, recorded: had(src, dst) }));
  assert.equal(noop(right), undefined);
  // A row left for a file that went and none for one that came (same count, other names):
  // the old count alone took such rows for a record of the files in step.
  for (const stale of [{ ...right, chars: 4 }, { ...right, bytes: 9 }, { ...right, bytes: null }]) {
    const d = noop(right, stale)!;
    assert.deepEqual(plain(d.rebuild)!.map((c) => c.rows), [["a:1:1000:-", "bb:2:1000:-"], [
      "a:1:1000:-",
      "bb:2:1000:-",
    ]]);
    assert.deepEqual(d.inStep, right);
  }
});

Deno.test("deriveChanges: a copy that took a version edited since the walk records that version, in the rebuild and its digest too", () => {
  const op = copy("a");
  const done: Outcome = {
    op,
    status: "done",
    entry: { key: "a", kind: "file", size: 5, mtime: 2000 },
  };
  const d = deriveChanges(pass({
    src: [f("a")],
    plan: plan(op),
    res: { outcomes: [done], interrupted: false },
  }))!;
  assert.equal(d.changes, undefined, "a first pass: the rebuild writes");
  assert.deepEqual(plain(d.rebuild)!.map((c) => c.rows), [["a:5:2000:-"], ["a:5:2000:-"]]);
  assert.deepEqual(d.inStep, { files: 1, bytes: 5, chars: 1 });
});

Deno.test("digestOf counts a key's code points, as SQLite's length() does", () => {
  assert.deepEqual(digestOf([f("🚀é", 4), f("ab", 6)]), { files: 2, bytes: 10, chars: 4 });
});
