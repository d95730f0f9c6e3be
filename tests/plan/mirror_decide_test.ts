/**
 * The mirror's decide step on its own: the table of `mirror_test.ts` — every combination of
 * what each member did to a file since the last agreed pass (kept, edited, edited the same way
 * as another, deleted, renamed) on two and on three members, 150 in all — run against
 * {@linkcode decide} directly, path by path, with no backend, no state and no executor. Each
 * verdict is checked against the rules: no edited version is lost (the newest wins, every
 * other is kept as a conflict copy), a modification beats a deletion, a deletion spreads only
 * where nobody edited and the hold proves the version, a rename spreads as moves; and against
 * the verdict's invariants (every operation is in its member's fate, nothing deleted at a member
 * that is not in step).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Entry } from "../../lib/backends/backend.ts";
import type { Decision, Fate, MirrorInput, MirrorMember } from "../../lib/plan/mirror.ts";
import {
  classify,
  indexMirror,
  type PathFacts,
  renameMoves,
} from "../../lib/plan/mirror_classify.ts";
import { decide, isConflictCopy, type Verdict } from "../../lib/plan/mirror_decide.ts";
import type { Op } from "../../lib/plan/types.ts";
import type { HoldRow } from "../../lib/state/mirror_state.ts";

const T0 = Date.UTC(2026, 0, 1);

type Action = "keep" | "edit" | "same" | "delete" | "rename";
const ACTIONS: Action[] = ["keep", "edit", "same", "delete", "rename"];

function combos(n: number): Action[][] {
  if (n === 0) return [[]];
  return combos(n - 1).flatMap((c) => ACTIONS.map((a) => [...c, a]));
}

const file = (key: string, text: string, mtime: number, ino: number): Entry => ({
  key,
  kind: "file",
  size: text.length,
  mtime,
  ino,
  dev: 1,
});
const hold = (text: string, ino: number): HoldRow => ({
  size: text.length,
  mtime: T0,
  ino,
  dev: 1,
  stamp: null,
  ver: 1,
  racy: false,
});

/** A version's text, as the member's entry tells it (the hashes map it back). */
interface Case {
  input: MirrorInput;
  /** Each member's text of each key it has. */
  texts: Map<string, string>[];
}

/**
 * The state after an agreed pass (`f.txt` "v0" and `other.txt` everywhere, version 1), then
 * each member's action; the hashes of every file are known (as `wants` would have asked).
 */
function build(actions: readonly Action[]): Case {
  const texts = actions.map((a, i) => {
    const t = new Map([["other.txt", "o"]]);
    if (a === "keep") t.set("f.txt", "v0");
    else if (a === "edit") t.set("f.txt", `edit${i}`);
    else if (a === "same") t.set("f.txt", "same");
    else if (a === "rename") t.set("g.txt", "v0");
    return t;
  });
  const mtimeOf = (a: Action, i: number) =>
    a === "edit" ? T0 + 10_000 * (i + 1) : a === "same" ? T0 + 5_000 : T0;
  const members = actions.map((a, i): MirrorMember => ({
    // An edit in place and a rename keep the file's inode.
    entries: [...texts[i]!].map(([k, t]) =>
      file(k, t, k === "other.txt" ? T0 : mtimeOf(a, i), k === "other.txt" ? 200 + i : 100 + i)
    ),
    holds: new Map([["f.txt", hold("v0", 100 + i)], ["other.txt", hold("o", 200 + i)]]),
    label: `m${i}`,
    id: `id${i}`,
    dirs: true,
    canMove: true,
    timePrecision: 1,
    problems: [],
  }));
  const agreed = new Map([
    ["f.txt", { ver: 1, kind: "file" as const, size: 2, mtime: T0 }],
    ["other.txt", { ver: 1, kind: "file" as const, size: 1, mtime: T0 }],
  ]);
  // The "hash" of a version is its text: equal content, equal hash.
  const hashes = texts.map((t) => new Map(t));
  return { input: { members, agreed, checksum: false, now: T0 + 86_400_000, hashes }, texts };
}

/** Every path decided, by path, with the facts it was decided on. */
function decideAll(c: Case) {
  const index = indexMirror(c.input);
  const { moves, byMember } = renameMoves(c.input, index);
  const taken = new Set<string>();
  const copyName = (name: string) => {
    assert.ok(!taken.has(name), `${name} given twice`);
    taken.add(name);
    return name;
  };
  const out = new Map<string, { facts: PathFacts; verdict: Verdict }>();
  for (const key of index.slow) {
    const facts = classify(c.input, index, byMember, key);
    out.set(key, { facts, verdict: decide(facts, { input: c.input, copyName }) });
  }
  return { index, moves, out };
}

/** The invariants every verdict keeps, whatever the rules decided. */
function assertInvariants(label: string, facts: PathFacts, v: Verdict): void {
  const inFates = new Set<Op>();
  for (const d of v.decisions) {
    d.fates.forEach((f: Fate | undefined, j) => {
      if (f?.kind !== "op") return;
      assert.equal(f.op.at, j, `${label}: a fate's operation acts on its member`);
      inFates.add(f.op);
      if (f.kept) inFates.add(f.kept.op);
    });
  }
  for (const { op } of v.ops) {
    assert.ok(inFates.has(op), `${label}: ${op.op} at ${op.at} is in its member's fate`);
    if (op.op === "delete") {
      const s = facts.sides[op.at];
      assert.ok(
        s?.status === "in" || s?.status === "behind",
        `${label}: a deletion only where the hold proves the version (${s?.status})`,
      );
    }
  }
  const own = v.decisions.at(-1);
  if (own) assert.equal(own.path, facts.key, `${label}: the path's own decision comes last`);
  for (const d of v.decisions.slice(0, -1)) {
    assert.ok(isConflictCopy(d.path), `${label}: the others are conflict copies`);
  }
}

/** The text a decision's version has (by size and time, among what the members have). */
function textOf(c: Case, d: Decision): string | undefined {
  for (const [i, m] of c.input.members.entries()) {
    for (const e of m.entries) {
      if (e.size === d.size && e.mtime === d.mtime) return c.texts[i]!.get(e.key);
    }
  }
  return undefined;
}

for (const n of [2, 3]) {
  Deno.test(`decide() table: every combination of keep/edit/same edit/delete/rename on ${n} members`, () => {
    for (const actions of combos(n)) {
      const label = actions.join(",");
      const c = build(actions);
      const { index, moves, out } = decideAll(c);
      for (const [key, { facts, verdict }] of out) {
        assertInvariants(`${label} ${key}`, facts, verdict);
      }
      assert.ok(index.fast.includes("other.txt"), `${label}: other.txt in step, not decided`);

      const edits = new Set<string>();
      actions.forEach((a, i) => {
        if (a === "edit") edits.add(`edit${i}`);
        if (a === "same") edits.add("same");
      });
      const renamers = actions.filter((a) => a === "rename").length;
      const f = out.get("f.txt")?.verdict;
      const fOwn = f?.decisions.at(-1);
      if (edits.size > 0) {
        // A modification beats a deletion: the newest edit wins at the path, everywhere.
        const newest = actions.includes("edit") ? `edit${actions.lastIndexOf("edit")}` : "same";
        assert.equal(fOwn?.kind, "file", `${label}: the edit survives`);
        assert.equal(textOf(c, fOwn!), newest, `${label}: newest wins`);
        assert.equal(fOwn!.ver, 2, `${label}: a new agreed version`);
        // Every member taking part ends with the winner: it holds it, or an operation brings it.
        fOwn!.fates.forEach((fate, j) => {
          if (!facts(out, "f.txt").sides[j]) return;
          assert.ok(fate, `${label}: member ${j} has a fate at f.txt`);
          if (fate!.kind === "op") {
            assert.ok(fate!.op.op === "copy" || fate!.op.op === "update", label);
          } else assert.equal(fate!.kind, "holds", label);
        });
        // No edited version is lost: every loser is a conflict copy, given to every member.
        const copies = f!.decisions.slice(0, -1);
        assert.equal(copies.length, edits.size - 1, `${label}: conflict copies`);
        assert.deepEqual(
          new Set([fOwn!, ...copies].map((d) => textOf(c, d))),
          edits,
          `${label}: every edited version kept`,
        );
        for (const d of copies) {
          assert.equal(d.fates.filter(Boolean).length, n, `${label}: the copy reaches all`);
        }
        assert.equal(!!f!.resolved, edits.size > 1, `${label}: a conflict resolved`);
        const deletes = [...out.values()].flatMap((x) => x.verdict.ops)
          .filter((o) => o.op.op === "delete");
        assert.equal(deletes.length, 0, `${label}: nothing deleted where someone edited`);
      } else if (actions.includes("delete") || renamers > 0) {
        // Nobody edited: the deletion (or the rename away) spreads.
        assert.equal(fOwn?.kind, "deleted", `${label}: the deletion spreads`);
        assert.equal(fOwn!.ver, 2, label);
        fOwn!.fates.forEach((fate, j) => {
          assert.ok(fate, `${label}: member ${j} has a fate at f.txt`);
          assert.ok(
            fate!.kind === "none" ||
              (fate!.kind === "op" && (fate!.op.op === "delete" || fate!.op.op === "move")),
            `${label}: member ${j} no longer has f.txt`,
          );
        });
        assert.ok(!f!.resolved, label);
      } else {
        assert.equal(f, undefined, `${label}: nothing to decide`);
        assert.ok(index.fast.includes("f.txt"), label);
      }

      const g = out.get("g.txt")?.verdict;
      if (renamers > 0) {
        const keepers = actions.filter((a) => a === "keep").length;
        const deleters = actions.filter((a) => a === "delete").length;
        // Nobody edited: the rename spreads as moves where the version sits unchanged; where
        // someone edited, the old path lives on and the new one is a new file, copied.
        const movers = edits.size === 0 ? keepers : 0;
        assert.equal(moves.length, movers, `${label}: spread as moves`);
        assert.ok(moves.every((m) => m.op === "move" && m.from === "f.txt" && m.to === "g.txt"));
        const copies = g!.ops.filter((o) => o.op.op === "copy");
        assert.equal(copies.length, n - renamers - movers, `${label}: copied to the others`);
        assert.equal(g!.ops.length, copies.length, `${label}: nothing but copies`);
        assert.equal(edits.size === 0 ? deleters : n - renamers, copies.length, label);
        const gOwn = g!.decisions.at(-1)!;
        assert.equal(gOwn.kind, "file", label);
        assert.equal(textOf(c, gOwn), "v0", `${label}: the renamed file under its new name`);
        gOwn.fates.forEach((fate, j) => {
          assert.ok(
            fate?.kind === "holds" ||
              (fate?.kind === "op" && (fate.moved !== undefined || fate.op.op === "copy")),
            `${label}: member ${j} holds g.txt, moves it there or gets a copy`,
          );
        });
      } else assert.equal(g, undefined, label);
    }
  });
}

function facts(out: Map<string, { facts: PathFacts }>, key: string): PathFacts {
  return out.get(key)!.facts;
}

Deno.test("decide() leaves a file against a folder alone: a conflict, no decision, no operation", () => {
  const member = (entries: Entry[], id: string): MirrorMember => ({
    entries,
    holds: new Map(),
    label: id,
    id,
    dirs: true,
    canMove: true,
    timePrecision: 1,
    problems: [],
  });
  const input: MirrorInput = {
    members: [
      member([file("p", "file", T0, 0)], "a"),
      member([{ key: "p", kind: "dir", size: 0, mtime: 0 }], "b"),
    ],
    agreed: new Map(),
    checksum: false,
    now: T0,
  };
  const index = indexMirror(input);
  const { byMember } = renameMoves(input, index);
  const v = decide(classify(input, index, byMember, "p"), {
    input,
    copyName: (n) => n,
  });
  assert.deepEqual(v.decisions, []);
  assert.deepEqual(v.ops, []);
  assert.equal(v.conflict?.at, 0);
  assert.match(v.conflict!.message, /is a file in "a" and a folder in "b"/);
});

Deno.test("decide() gives a member behind the agreed version that version, from a member in step, and keeps the version number", () => {
  const behind: HoldRow = { ...hold("v0", 1), ver: 1 };
  const inStep: HoldRow = { ...hold("v1!", 2), ver: 2, mtime: T0 + 1000 };
  const facts: PathFacts = {
    key: "f.txt",
    agreed: { ver: 2, kind: "file", size: 3, mtime: T0 + 1000 },
    sides: [
      { at: 0, status: "behind", cur: file("f.txt", "v0", T0, 1), hold: behind },
      { at: 1, status: "in", cur: file("f.txt", "v1!", T0 + 1000, 2), hold: inStep },
    ],
    movers: new Map(),
  };
  const input = build(["keep", "keep"]).input;
  const v = decide(facts, { input, copyName: (n) => n });
  assert.deepEqual(v.ops.map(({ step, op }) => [step, op.op, op.at]), [["transfer", "update", 0]]);
  const d = v.decisions[0]!;
  assert.deepEqual([d.kind, d.ver, d.size], ["file", 2, 3]);
  assert.equal(d.fates[1], undefined, "the member in step keeps its hold");
  assert.deepEqual(v.holds, [[0, "f.txt"], [1, "f.txt"]], "both hold the version after");
});

Deno.test("decide() does not spread a deletion of a version older than the agreed one: the member that made it gets the agreed version", () => {
  const facts: PathFacts = {
    key: "f.txt",
    agreed: { ver: 2, kind: "file", size: 3, mtime: T0 + 1000 },
    sides: [
      { at: 0, status: "deleted", hold: { ...hold("v0", 1), ver: 1 } },
      {
        at: 1,
        status: "in",
        cur: file("f.txt", "v1!", T0 + 1000, 2),
        hold: { ...hold("v1!", 2), ver: 2, mtime: T0 + 1000 },
      },
    ],
    movers: new Map(),
  };
  const input = build(["keep", "keep"]).input;
  const v = decide(facts, { input, copyName: (n) => n });
  assert.deepEqual(v.ops.map(({ step, op }) => [step, op.op, op.at]), [["transfer", "copy", 0]]);
  const d = v.decisions[0]!;
  assert.deepEqual([d.kind, d.ver, d.size], ["file", 2, 3], "the agreed version stands");
  assert.equal(d.fates[1]?.kind, "holds");
  // With no member holding the agreed version either (the one that did sits out), nothing is
  // deleted: the member behind keeps its older version.
  const behind: PathFacts = {
    ...facts,
    sides: [
      facts.sides[0],
      { at: 1, status: "behind", cur: file("f.txt", "v0", T0, 2), hold: { ...hold("v0", 2) } },
    ],
  };
  const w = decide(behind, { input, copyName: (n) => n });
  assert.deepEqual(w.ops, [], "no deletion");
  assert.deepEqual(w.decisions, []);
});
