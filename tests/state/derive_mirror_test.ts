/**
 * `deriveMirror`, table-tested on its own like `deriveChanges`: for each kind of fate a
 * decision gives a member, and each outcome of its operation, the hold row written (or
 * deleted, or left), the agreed row, and the paths whose hash-cache rows are dropped.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Entry } from "../../lib/backends/backend.ts";
import type { Outcome } from "../../lib/execute/execute.ts";
import type { Decision, Fate } from "../../lib/plan/mirror.ts";
import type { Op } from "../../lib/plan/types.ts";
import { deriveMirror, type HoldWrite } from "../../lib/state/mirror_state.ts";

const T = Date.UTC(2026, 0, 1);
const file = (size: number, mtime: number, more: Partial<Entry> = {}): Entry => ({
  key: "p",
  kind: "file",
  size,
  mtime,
  ...more,
});
const copy: Op = { op: "copy", at: 0, key: "p", srcAt: 1, srcKey: "p", size: 4, mtime: T };
const update: Op = {
  op: "update",
  at: 0,
  key: "p",
  srcAt: 1,
  srcKey: "p",
  size: 4,
  mtime: T,
  expect: { size: 2, mtime: T - 5000 },
};
const keep: Op = { op: "copy", at: 0, key: "p.conflict", srcAt: 0, srcKey: "p", size: 2, mtime: 9 };
const moveIn: Op = { op: "move", at: 0, kind: "file", from: "o", to: "p", size: 4, files: 1 };
const del: Op = { op: "delete", at: 0, key: "p", size: 4, expect: { size: 4, mtime: T } };
const mkdir: Op = { op: "mkdir", at: 0, key: "p" };
const rmdir: Op = { op: "rmdir", at: 0, key: "p" };

/** The hold row expected for `p`, spelled out (a folder's is size -1, time 0). */
const heldRow = (
  size: number,
  mtime: number,
  ver: number,
  o: { ino?: number; dev?: number; stamp?: string } = {},
): HoldWrite => ({
  path: "p",
  size,
  mtime,
  ino: o.ino ?? 0,
  dev: o.dev ?? 0,
  stamp: o.stamp ?? null,
  ver,
});

interface Row {
  name: string;
  /** Member 0's fate (undefined: left as it is). */
  fate: Fate | undefined;
  outcomes: Outcome[];
  /** Member 0's time precision, ms. */
  precision?: number;
  upserts: HoldWrite[];
  deletes: string[];
  /** Paths written at member 0 (its hash-cache rows dropped). */
  rewritten: string[];
}

const TABLE: Row[] = [
  {
    name: "a member that holds the winner is recorded with the decision's version",
    fate: { kind: "holds", entry: file(4, T, { ino: 7, dev: 1, stamp: "s1" }) },
    outcomes: [],
    upserts: [heldRow(4, T, 3, { ino: 7, dev: 1, stamp: "s1" })],
    deletes: [],
    rewritten: [],
  },
  {
    name: "a member that holds nothing any more loses its hold",
    fate: { kind: "none" },
    outcomes: [],
    upserts: [],
    deletes: ["p"],
    rewritten: [],
  },
  {
    name: "a member whose fate is undefined keeps its hold as it is",
    fate: undefined,
    outcomes: [],
    upserts: [],
    deletes: [],
    rewritten: [],
  },
  {
    name: "a copy done is recorded as the entry the write gave back, with the version",
    fate: { kind: "op", op: copy },
    outcomes: [{ op: copy, status: "done", entry: file(4, T, { stamp: "w" }) }],
    upserts: [heldRow(4, T, 3, { stamp: "w" })],
    deletes: [],
    rewritten: ["p"],
  },
  {
    name: "a copy done without an entry back is recorded as planned",
    fate: { kind: "op", op: copy },
    outcomes: [{ op: copy, status: "done" }],
    upserts: [heldRow(4, T, 3)],
    deletes: [],
    rewritten: ["p"],
  },
  {
    name: "a copy that landed another version (its source edited meanwhile) holds version 0",
    fate: { kind: "op", op: copy },
    outcomes: [{ op: copy, status: "done", entry: file(5, T + 3000) }],
    upserts: [heldRow(5, T + 3000, 0)],
    deletes: [],
    rewritten: ["p"],
  },
  {
    name: "an update whose time came back rounded within the member's precision is the version",
    fate: { kind: "op", op: update },
    outcomes: [{ op: update, status: "done", entry: file(4, T - 1000) }],
    precision: 2000,
    upserts: [heldRow(4, T - 1000, 3)],
    deletes: [],
    rewritten: ["p"],
  },
  {
    name: "the same time off by as much on an exact member is another version",
    fate: { kind: "op", op: update },
    outcomes: [{ op: update, status: "done", entry: file(4, T - 1000) }],
    upserts: [heldRow(4, T - 1000, 0)],
    deletes: [],
    rewritten: ["p"],
  },
  {
    name: "an operation that failed leaves the hold (the member is behind)",
    fate: { kind: "op", op: update },
    outcomes: [{ op: update, status: "failed", message: "no" }],
    upserts: [],
    deletes: [],
    rewritten: [],
  },
  {
    name: "an operation never attempted leaves the hold",
    fate: { kind: "op", op: update },
    outcomes: [],
    upserts: [],
    deletes: [],
    rewritten: [],
  },
  {
    name: "a loser kept but not replaced is recorded as the loser, with the version it held",
    fate: { kind: "op", op: update, kept: { op: keep, entry: file(2, 9), ver: 1 } },
    outcomes: [{ op: keep, status: "done" }, { op: update, status: "skipped" }],
    upserts: [heldRow(2, 9, 1)],
    deletes: [],
    rewritten: ["p.conflict"],
  },
  {
    name: "a loser replaced is recorded as the winner",
    fate: { kind: "op", op: update, kept: { op: keep, entry: file(2, 9), ver: 1 } },
    outcomes: [{ op: keep, status: "done" }, { op: update, status: "done" }],
    upserts: [heldRow(4, T, 3)],
    deletes: [],
    rewritten: ["p.conflict", "p"],
  },
  {
    name: "a folder made is held as a folder",
    fate: { kind: "op", op: mkdir },
    outcomes: [{ op: mkdir, status: "done" }],
    upserts: [heldRow(-1, 0, 3)],
    deletes: [],
    rewritten: [],
  },
  {
    name: "a file moved here is held as the entry it moved with",
    fate: { kind: "op", op: moveIn, moved: file(4, T, { ino: 9, dev: 2 }) },
    outcomes: [{ op: moveIn, status: "done" }],
    upserts: [heldRow(4, T, 3, { ino: 9, dev: 2 })],
    deletes: [],
    rewritten: ["p"],
  },
  {
    name: "a file moved away is no longer held at its old path",
    fate: { kind: "op", op: moveIn },
    outcomes: [{ op: moveIn, status: "done" }],
    upserts: [],
    deletes: ["p"],
    rewritten: ["p"],
  },
  {
    name: "a deletion done drops the hold",
    fate: { kind: "op", op: del },
    outcomes: [{ op: del, status: "done" }],
    upserts: [],
    deletes: ["p"],
    rewritten: [],
  },
  {
    name: "a folder removed drops the hold",
    fate: { kind: "op", op: rmdir },
    outcomes: [{ op: rmdir, status: "done" }],
    upserts: [],
    deletes: ["p"],
    rewritten: [],
  },
];

for (const row of TABLE) {
  Deno.test(`deriveMirror: ${row.name}`, () => {
    const d: Decision = {
      path: "p",
      kind: "file",
      ver: 3,
      size: 4,
      mtime: T,
      fates: [row.fate, { kind: "holds", entry: file(4, T) }],
    };
    const c = deriveMirror({ decisions: [d] }, row.outcomes, 2, [row.precision ?? 1, 1]);
    assert.deepEqual(c.holds[0], { upserts: row.upserts, deletes: row.deletes });
    assert.deepEqual(c.rewritten?.[0], row.rewritten);
    // The other member, in step, and the agreed row are recorded whatever member 0's fate.
    assert.deepEqual(c.holds[1], { upserts: [heldRow(4, T, 3)], deletes: [] });
    assert.deepEqual(c.agreed, {
      upserts: [{ path: "p", ver: 3, kind: "file", size: 4, mtime: T }],
      deletes: [],
    });
    assert.deepEqual(c.seen, [[], []]);
  });
}

Deno.test("deriveMirror: a folder move done is no file written (its hash-cache rows stay)", () => {
  const dirMove: Op = { op: "move", at: 0, kind: "dir", from: "a", to: "b", size: 4, files: 2 };
  const c = deriveMirror({ decisions: [] }, [{ op: dirMove, status: "done" }], 1);
  assert.deepEqual(c.rewritten, [[]]);
  assert.deepEqual(c.agreed, { upserts: [], deletes: [] });
});
