import assert from "node:assert/strict";
import type { Entry } from "../../lib/backends/backend.ts";
import { type OneWayInput, planOneWay, renameCandidates } from "../../lib/plan/one_way.ts";
import { countPlan, type Op, type Plan } from "../../lib/plan/types.ts";

const f = (key: string, size = 10, mtime = 1000, extra: Partial<Entry> = {}): Entry => ({
  key,
  kind: "file",
  size,
  mtime,
  ...extra,
});
const d = (key: string): Entry => ({ key, kind: "dir", size: 0, mtime: 0 });

/** A plan's operations in order, with the late ones marked, and its conflicts last. */
type Planned = (Op & { late?: boolean }) | { op: "conflict"; key: string; message: string };

function flat(p: Plan): Planned[] {
  return [
    ...p.steps.flatMap((s) => s.ops.map((o) => s.name === "late" ? { ...o, late: true } : o)),
    ...p.conflicts.map((c) => ({ op: "conflict" as const, key: c.key, message: c.message })),
  ];
}

function plan(src: Entry[], dst: Entry[], opts: Partial<OneWayInput> = {}): Planned[] {
  return flat(planOneWay({
    src,
    dst,
    modifyWindow: 1,
    foldCase: false,
    checksum: false,
    delete: false,
    ...opts,
  }));
}

function summary(ops: Planned[]): string[] {
  return ops.map((o) =>
    o.op === "move"
      ? `move ${o.kind} ${o.from} -> ${o.to}`
      : `${o.op} ${o.key}${"late" in o && o.late ? " (late)" : ""}`
  );
}

const cases: {
  name: string;
  src: Entry[];
  dst: Entry[];
  opts?: Partial<OneWayInput>;
  want: string[];
}[] = [
  { name: "new file is copied", src: [f("a")], dst: [], want: ["copy a"] },
  {
    name: "new folder is created before its files",
    src: [d("x"), f("x/a")],
    dst: [],
    want: ["mkdir x", "copy x/a"],
  },
  { name: "unchanged file does nothing", src: [f("a")], dst: [f("a")], want: [] },
  { name: "changed size is an update", src: [f("a", 11)], dst: [f("a", 10)], want: ["update a"] },
  {
    name: "changed mtime is an update",
    src: [f("a", 10, 2000)],
    dst: [f("a", 10, 1000)],
    want: ["update a"],
  },
  {
    name: "mtime within the modify window is equal",
    src: [f("a", 10, 1999)],
    dst: [f("a", 10, 1000)],
    opts: { modifyWindow: 1000 },
    want: [],
  },
  {
    name: "an upload time (no stored mtime) in the same second as the change is in step",
    src: [f("a", 10, 1_000_500)],
    dst: [f("a", 10, 1_000_000, { mtimeKind: "upload" })],
    want: [],
  },
  {
    name: "an upload time a second or more before the change is an update",
    src: [f("a", 10, 1_001_000)],
    dst: [f("a", 10, 1_000_000, { mtimeKind: "upload" })],
    want: ["update a"],
  },
  { name: "deleted in source is kept without --delete", src: [], dst: [f("a")], want: [] },
  {
    name: "deleted in source is deleted with --delete, folders deepest last",
    src: [],
    dst: [d("x"), d("x/y"), f("x/y/a")],
    opts: { delete: true },
    want: ["delete x/y/a", "rmdir x/y", "rmdir x"],
  },
  {
    name: "excluded (unlisted) files are never deleted, unreadable source folders protect theirs",
    src: [d("ok")],
    dst: [d("ok"), d("bad"), f("bad/keep")],
    opts: { delete: true, srcProblems: ["bad"] },
    want: [],
  },
  {
    name: "checksum: same size and time but other content is an update",
    src: [f("a", 10, 1000, { sha256: "aa" })],
    dst: [f("a", 10, 1000, { sha256: "bb" })],
    opts: { checksum: true },
    want: ["update a"],
  },
  {
    name: "checksum: equal hashes with other times are written again where times cannot be set",
    src: [f("a", 10, 5000, { sha256: "aa" })],
    dst: [f("a", 10, 1000, { sha256: "aa" })],
    opts: { checksum: true },
    want: ["update a"],
  },
  {
    name: "checksum: equal hashes with other times set the time where the destination can",
    src: [f("a", 10, 5000, { sha256: "aa" }), f("b", 10, 1000, { sha256: "bb" })],
    dst: [f("a", 10, 1000, { sha256: "aa" }), f("b", 10, 1000, { sha256: "bb" })],
    opts: { checksum: true, dstRetime: true },
    want: ["retime a"],
  },
  {
    name: "checksum: hashes computed for the plan count like listed ones (entries unchanged)",
    src: [f("a", 10, 1000)],
    dst: [f("a", 10, 1000)],
    opts: {
      checksum: true,
      srcHashes: new Map([["a", "aa"]]),
      dstHashes: new Map([["a", "bb"]]),
    },
    want: ["update a"],
  },
  {
    name: "rename by inode from the prior state is a move",
    src: [f("new", 10, 1000, { ino: 7, dev: 1 })],
    dst: [f("old", 10, 1000)],
    opts: { prior: { srcByInode: new Map([["7:1", { path: "old", size: 10, mtime: 1000 }]]) } },
    want: ["move file old -> new"],
  },
  {
    name: "an inode reused by an unrelated file (different size in state) is not a move",
    src: [f("new", 10, 1000, { ino: 7, dev: 1 })],
    dst: [f("old", 99, 1000)],
    opts: { prior: { srcByInode: new Map([["7:1", { path: "old", size: 99, mtime: 5 }]]) } },
    want: ["copy new"],
  },
  {
    name: "rename by equal SHA-256 is a move, where the state says the source had the old name",
    src: [f("b", 10, 1000, { sha256: "h1" })],
    dst: [f("a", 10, 1000, { sha256: "h1" })],
    opts: { srcHad: new Set(["a"]) },
    want: ["move file a -> b"],
  },
  {
    name: "a destination file the source never had is not taken for a renamed one: a copy",
    src: [f("b", 10, 1000, { sha256: "h1" })],
    dst: [f("a", 10, 1000, { sha256: "h1" })],
    opts: { srcHad: new Set(["c"]) },
    want: ["copy b"],
  },
  {
    name: "with --delete an equal file the source lacks is moved (it would go anyway)",
    src: [f("b", 10, 1000, { sha256: "h1" })],
    dst: [f("a", 10, 1000, { sha256: "h1" })],
    opts: { delete: true },
    want: ["move file a -> b"],
  },
  {
    name: "a whole folder renamed is one folder move",
    src: [
      d("new"),
      d("new/s"),
      f("new/s/1", 1, 1, { sha256: "1" }),
      f("new/2", 2, 1, { sha256: "2" }),
    ],
    dst: [
      d("old"),
      d("old/s"),
      f("old/s/1", 1, 1, { sha256: "1" }),
      f("old/2", 2, 1, { sha256: "2" }),
    ],
    opts: { delete: true },
    want: ["move dir old -> new"],
  },
  {
    name: "a folder only partly moved stays file moves",
    src: [d("new"), f("new/1", 1, 1, { sha256: "1" }), d("old"), f("old/2", 2, 1, { sha256: "2" })],
    dst: [d("old"), f("old/1", 1, 1, { sha256: "1" }), f("old/2", 2, 1, { sha256: "2" })],
    opts: { srcHad: new Set(["old", "old/1", "old/2"]) },
    want: ["mkdir new", "move file old/1 -> new/1"],
  },
  {
    name: "a file replaced by a folder without --delete is a conflict",
    src: [d("x"), f("x/a")],
    dst: [f("x")],
    want: ["conflict x"],
  },
  {
    name: "a file replaced by a folder with --delete runs after the deletion",
    src: [d("x"), f("x/a")],
    dst: [f("x")],
    opts: { delete: true },
    want: ["delete x", "mkdir x (late)", "copy x/a (late)"],
  },
  {
    name: "case-insensitive destinations match names across case",
    src: [f("Readme.TXT")],
    dst: [f("readme.txt")],
    opts: { foldCase: true },
    want: [],
  },
];

for (const c of cases) {
  Deno.test(`planOneWay() ${c.name}`, () => {
    assert.deepEqual(summary(plan(c.src, c.dst, c.opts)), c.want);
  });
}

Deno.test("renameCandidates() pairs new files with orphans of the same size only, and only orphans the source had (or --delete)", () => {
  const input = {
    src: [f("n1", 5), f("n2", 6), f("n3", 8), f("same", 1)],
    dst: [f("o1", 5), f("o2", 7), f("o3", 8), f("same", 1)],
    modifyWindow: 1,
    foldCase: false,
    checksum: false,
    delete: false,
  };
  assert.deepEqual(renameCandidates({ ...input, srcHad: new Set(["o1", "o2"]) }), {
    src: ["n1"],
    dst: ["o1"],
  });
  assert.deepEqual(renameCandidates({ ...input, delete: true }), {
    src: ["n1", "n3"],
    dst: ["o1", "o3"],
  });
  assert.deepEqual(renameCandidates(input), { src: [], dst: [] });
});

const copy = (key: string, size: number): Op => ({
  op: "copy",
  at: 1,
  key,
  srcAt: 0,
  srcKey: key,
  size,
  mtime: 1,
});
const move = (from: string, to: string, size: number, files: number): Op => ({
  op: "move",
  at: 1,
  kind: "dir",
  from,
  to,
  size,
  files,
});
const del = (key: string): Op => ({
  op: "delete",
  at: 1,
  key,
  size: 1,
  expect: { size: 1, mtime: 1 },
});

Deno.test("countPlan() counts a folder move by its files and transfers by bytes", () => {
  const c = countPlan({
    steps: [
      { name: "move", parallel: false, ops: [move("x", "y", 100, 4)] },
      { name: "transfer", parallel: true, ops: [copy("a", 5)] },
      { name: "delete", parallel: true, ops: [del("z")], guarded: true },
    ],
    conflicts: [{ at: 1, key: "c", message: "no" }],
  });
  assert.deepEqual(c, { copied: 1, updated: 0, moved: 4, deleted: 1, conflicts: 1, bytes: 5 });
});

Deno.test("a rename and an edit in one run: the move step comes before the transfer step", () => {
  const p = planOneWay({
    src: [f("y", 12, 3000, { ino: 7, dev: 1 })],
    dst: [f("x", 10, 1000)],
    modifyWindow: 1,
    foldCase: false,
    checksum: false,
    delete: true,
    prior: { srcByInode: new Map([["7:1", { path: "x", size: 10, mtime: 1000 }]]) },
  });
  assert.deepEqual(p.steps.map((s) => [s.name, s.parallel, s.ops.map((o) => o.op)]), [
    ["move", true, ["move"]],
    ["transfer", true, ["update"]],
  ]);
  // Every operation names the member it acts on; a transfer also the member it reads.
  const update = p.steps[1]!.ops[0]!;
  assert.equal(update.at, 1);
  assert.equal(update.op === "update" && update.srcAt, 0);
  assert.deepEqual(update.op === "update" && update.expect, { size: 10, mtime: 1000 });
});

Deno.test("an entry whose own time is coarser (a 2 s DOS time in an archive) is compared with that slack", () => {
  const base = { modifyWindow: 1, foldCase: false, checksum: false, delete: false };
  const src = [f("a", 10, 1_600_000_001_999)];
  assert.deepEqual(
    planOneWay({ ...base, src, dst: [f("a", 10, 1_600_000_000_000, { precision: 2000 })] }).steps,
    [],
  );
  assert.equal(
    planOneWay({ ...base, src, dst: [f("a", 10, 1_600_000_000_000)] }).steps.length,
    1,
    "without it, the same times differ",
  );
});
