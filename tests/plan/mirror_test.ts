/**
 * The mirror's reconciliation, by a table of every combination of what each member did to a
 * file since the last agreed pass (kept, edited, edited the same way as another, deleted,
 * renamed) on two and on three members, and of what each held on a first run with no state.
 * Each case runs a real pass over in-memory locations and checks the rules, not a script:
 * the members converge in one pass, no edited version is lost, a deletion spreads only when
 * nobody edited, and the next pass has nothing to do. The same table runs against the decide
 * step alone in `mirror_decide_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Backend, Entry, ListOptions, WriteMeta } from "../../lib/backends/backend.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { silentSink } from "../../lib/execute/events.ts";
import { mirrorKey, mirrorOnce, type MirrorResult } from "../../lib/mirror.ts";
import { MirrorState } from "../../lib/state/mirror_state.ts";
import {
  conflictName,
  FUTURE_SLACK,
  isConflictCopy,
  mirrorPlanner,
  planMirror,
} from "../../lib/plan/mirror.ts";
import { StateStore } from "../../lib/state/store.ts";
import { opsOf } from "../../lib/plan/types.ts";

const T0 = Date.UTC(2026, 0, 1);
const enc = new TextEncoder();

async function put(m: MemoryBackend, key: string, text: string, mtime: number): Promise<void> {
  const data = enc.encode(text);
  await m.write(key, ReadableStream.from([data]), { size: data.length, mtime });
}

async function contents(m: MemoryBackend): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of (await m.list()).entries) {
    if (e.kind === "file") out.set(e.key, await new Response(await m.read(e.key)).text());
  }
  return out;
}

function members(n: number): MemoryBackend[] {
  return Array.from({ length: n }, (_, i) => new MemoryBackend({ name: `m${i}` }));
}

/** The member as seen while it cannot be reached: opening it fails. */
function offline(m: MemoryBackend): Backend {
  return new Proxy(m, {
    get(target, prop, receiver) {
      if (prop === "open") return () => Promise.reject(new Error("connection refused"));
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

async function pass(ms: Backend[], state: StateStore): Promise<MirrorResult> {
  return await mirrorOnce(ms, { sink: silentSink, state });
}

async function assertConverged(ms: MemoryBackend[], label: string): Promise<Map<string, string>> {
  const first = await contents(ms[0]!);
  for (const m of ms.slice(1)) assert.deepEqual(await contents(m), first, label);
  return first;
}

type Action = "keep" | "edit" | "same" | "delete" | "rename";
const ACTIONS: Action[] = ["keep", "edit", "same", "delete", "rename"];

function combos(n: number): Action[][] {
  if (n === 0) return [[]];
  return combos(n - 1).flatMap((c) => ACTIONS.map((a) => [...c, a]));
}

for (const n of [2, 3]) {
  Deno.test(`mirror table: every combination of keep/edit/same edit/delete/rename on ${n} members, with prior state`, async () => {
    for (const actions of combos(n)) {
      const label = actions.join(",");
      const ms = members(n);
      const state = StateStore.open(":memory:");
      await put(ms[0]!, "f.txt", "v0", T0);
      await put(ms[0]!, "other.txt", "o", T0);
      await pass(ms, state);
      await assertConverged(ms, `${label}: setup`);
      const edits = new Set<string>();
      for (const [i, a] of actions.entries()) {
        const m = ms[i]!;
        if (a === "edit") {
          await put(m, "f.txt", `edit${i}`, T0 + 10_000 * (i + 1));
          edits.add(`edit${i}`);
        } else if (a === "same") {
          await put(m, "f.txt", "same", T0 + 5_000);
          edits.add("same");
        } else if (a === "delete") await m.remove("f.txt");
        else if (a === "rename") await m.move("f.txt", "g.txt");
      }
      const r = await pass(ms, state);
      assert.equal(r.summary.failed, 0, `${label}: ${JSON.stringify(r.failures)}`);
      const after = await assertConverged(ms, label);
      const texts = [...after.values()];
      // No edited version is lost: each is at its path or in a conflict copy.
      for (const e of edits) assert.ok(texts.includes(e), `${label}: "${e}" lost`);
      const editors = actions.filter((a) => a === "edit" || a === "same").length;
      const versions = edits.size;
      const conflictCopies = [...after.keys()].filter(isConflictCopy).length;
      assert.equal(conflictCopies, Math.max(0, versions - 1), `${label}: conflict copies`);
      assert.equal(r.summary.conflicts, versions > 1 ? 1 : 0, `${label}: conflicts counted`);
      if (editors > 0) {
        // A modification beats a deletion (and a rename leaves the edited file at its path).
        assert.ok(after.has("f.txt"), `${label}: the edit must survive`);
        const newest = actions.includes("edit") ? `edit${actions.lastIndexOf("edit")}` : "same";
        assert.equal(after.get("f.txt"), newest, `${label}: newest wins`);
      } else if (actions.includes("delete") || actions.includes("rename")) {
        assert.ok(!after.has("f.txt"), `${label}: the deletion spreads`);
      } else {
        assert.equal(after.get("f.txt"), "v0", label);
        assert.equal(r.summary.copied + r.summary.updated + r.summary.deleted, 0, label);
      }
      if (actions.includes("rename") && editors === 0 && !actions.includes("delete")) {
        assert.equal(after.get("g.txt"), "v0", `${label}: the rename spreads`);
        const movers = n - actions.filter((a) => a === "rename").length;
        assert.equal(r.summary.moved, movers, `${label}: spread as moves`);
        assert.equal(r.summary.copied, 0, `${label}: no copy for a rename`);
      }
      assert.equal(after.get("other.txt"), "o", label);
      const again = await pass(ms, state);
      const s = again.summary;
      assert.equal(
        s.copied + s.updated + s.moved + s.deleted + s.conflicts,
        0,
        `${label}: the next pass has nothing to do`,
      );
      state.close();
    }
  });
}

Deno.test("mirror table: first run without state, every mix of absent / one content / another on three members: union, newest wins, nothing deleted, losers kept", async () => {
  const kinds = ["absent", "a", "b", "a-later"] as const;
  for (const x of kinds) {
    for (const y of kinds) {
      for (const z of kinds) {
        const label = `${x},${y},${z}`;
        const ms = members(3);
        const state = StateStore.open(":memory:");
        const given = [x, y, z];
        for (const [i, k] of given.entries()) {
          if (k === "a") await put(ms[i]!, "f.txt", "A", T0);
          if (k === "b") await put(ms[i]!, "f.txt", "B", T0 + 1_000);
          // The same content with a later time: equal by content, no conflict.
          if (k === "a-later") await put(ms[i]!, "f.txt", "A", T0 + 9_000);
        }
        const r = await pass(ms, state);
        assert.equal(r.summary.deleted, 0, label);
        const after = await assertConverged(ms, label);
        const present = given.filter((k) => k !== "absent");
        if (present.length === 0) {
          assert.equal(after.size, 0, label);
          continue;
        }
        const hasA = present.some((k) => k !== "b");
        const hasB = present.includes("b");
        const newest = present.includes("a-later") ? "A" : hasB ? "B" : "A";
        assert.equal(after.get("f.txt"), newest, `${label}: newest wins`);
        const copies = [...after.entries()].filter(([k]) => isConflictCopy(k));
        assert.equal(copies.length, hasA && hasB ? 1 : 0, `${label}: conflict copies`);
        if (hasA && hasB) assert.equal(copies[0]![1], newest === "A" ? "B" : "A", label);
        const again = await pass(ms, state);
        assert.equal(again.summary.copied + again.summary.updated, 0, `${label}: settled`);
        state.close();
      }
    }
  }
});

Deno.test("mirror: a member that sits a round out keeps its holds, deletes nothing, and catches up when it is back", async () => {
  const ms = members(3);
  const state = StateStore.open(":memory:");
  await put(ms[0]!, "f.txt", "v0", T0);
  await put(ms[0]!, "keep.txt", "k", T0);
  await pass(ms, state);
  // m2 cannot be reached for a while: it sits out, nothing is deleted for it.
  const away = [ms[0]!, ms[1]!, offline(ms[2]!)];
  const r1 = await pass(away, state);
  assert.deepEqual(r1.takingPart, [0, 1]);
  assert.equal((await contents(ms[0]!)).get("f.txt"), "v0");
  // While it is out, f.txt is edited on m0 and keep.txt deleted on m1; then it is back.
  await put(ms[0]!, "f.txt", "v1", T0 + 60_000);
  await ms[1]!.remove("keep.txt");
  await pass(away, state);
  const r2 = await pass(ms, state);
  assert.equal(r2.takingPart.length, 3);
  const after = await assertConverged(ms, "back");
  assert.equal(after.get("f.txt"), "v1", "the member behind gets the agreed version");
  assert.ok(!after.has("keep.txt"), "and the deletion it missed");
  assert.equal([...after.keys()].filter(isConflictCopy).length, 0);
  state.close();
});

Deno.test("mirror: fewer than two members taking part is refused (exit 3), and nothing is written", async () => {
  const ms = members(2);
  const state = StateStore.open(":memory:");
  await put(ms[0]!, "f.txt", "v0", T0);
  await pass(ms, state);
  await ms[1]!.remove("f.txt");
  await assert.rejects(() => pass(ms, state), (e: Error) => {
    assert.match(e.message, /Only 1 of 2 locations can take part/);
    assert.equal((e as { exitCode?: number }).exitCode, 3);
    return true;
  });
  assert.equal((await contents(ms[0]!)).get("f.txt"), "v0");
  state.close();
});

Deno.test("mirror: a deletion the member made while behind does not delete a newer version", async () => {
  const ms = members(2);
  const state = StateStore.open(":memory:");
  await put(ms[0]!, "f.txt", "v0", T0);
  await put(ms[0]!, "x.txt", "x", T0);
  await pass(ms, state);
  // m1 misses a round (its root is unreachable: simulated by an empty listing with state).
  await ms[1]!.remove("x.txt");
  await ms[1]!.remove("f.txt");
  await put(ms[0]!, "f.txt", "v1", T0 + 1_000);
  // Three members would let the pass run; with two, m1 sitting out refuses it. Instead,
  // m1 keeps x.txt away and brings nothing back: its deletion of v0 meets v1.
  await put(ms[1]!, "x.txt", "x", T0);
  const r = await pass(ms, state);
  assert.equal(r.summary.failed, 0);
  const after = await assertConverged(ms, "behind");
  assert.equal(after.get("f.txt"), "v1");
  state.close();
});

Deno.test("mirror: a file in one member and a folder at the same path in another is a conflict left alone", async () => {
  const ms = members(2);
  const state = StateStore.open(":memory:");
  await put(ms[0]!, "p", "file", T0);
  await put(ms[1]!, "p/inner.txt", "i", T0);
  const r = await pass(ms, state);
  assert.equal(r.summary.conflicts, 1);
  assert.equal(r.summary.failed, 1);
  assert.equal((await contents(ms[0]!)).get("p"), "file");
  assert.equal((await contents(ms[1]!)).get("p/inner.txt"), "i");
  state.close();
});

/** A member of a first meeting: these entries, nothing held, ms times. */
function newMember(entries: Entry[], id: string) {
  return {
    entries,
    holds: new Map(),
    label: id,
    id,
    dirs: true,
    canMove: true,
    timePrecision: 1,
    problems: [],
  };
}

Deno.test("mirror clock skew: a version dated ahead of this machine's clock loses to a plausible one, and is kept", () => {
  const now = T0 + 100_000;
  const entry = (text: string, mtime: number) => ({
    key: "f.txt",
    kind: "file" as const,
    size: text.length,
    mtime,
  });
  const member = (e: ReturnType<typeof entry>, id: string) => newMember([e], id);
  const run = (aheadBy: number) =>
    planMirror({
      members: [
        member(entry("ahead", now + aheadBy), "a"),
        member(entry("real!", now - 1_000), "b"),
      ],
      agreed: new Map(),
      checksum: false,
      now,
      // Same size: told apart by content, as the pass's hash stage does.
      hashes: [new Map([["f.txt", "aa"]]), new Map([["f.txt", "bb"]])],
    });
  // Written by a machine whose clock runs a day ahead: the edit made a second ago wins.
  const skewed = run(86_400_000);
  assert.equal(skewed.decisions.find((d) => d.path === "f.txt")!.mtime, now - 1_000);
  assert.ok(skewed.resolved[0]!.message.includes(conflictName("f.txt", now + 86_400_000, "a")));
  // Within the slack (clocks a little apart), the later time wins as usual.
  const close = run(FUTURE_SLACK - 1);
  assert.equal(close.decisions.find((d) => d.path === "f.txt")!.mtime, now + FUTURE_SLACK - 1);
});

Deno.test("mirror: versions of one size whose content could not be read (a failed hash) are left as they are everywhere, as a conflict the next pass settles; no conflict copy", () => {
  const member = (mtime: number, id: string) =>
    newMember([{ key: "f.txt", kind: "file", size: 5, mtime }], id);
  const input = {
    members: [member(T0, "a"), member(T0 + 5_000, "b")],
    agreed: new Map(),
    checksum: false,
    now: T0 + 100_000,
  };
  // b's content was asked for and could not be read (its hash is missing).
  const blind = planMirror({ ...input, hashes: [new Map([["f.txt", "aa"]]), new Map()] });
  assert.deepEqual(opsOf(blind), []);
  assert.deepEqual(blind.resolved, []);
  assert.equal(blind.decisions.length, 0, "no hold row changes");
  assert.equal(blind.conflicts.length, 1);
  assert.equal(blind.conflicts[0]!.key, "f.txt");
  assert.match(blind.conflicts[0]!.message, /could not be read in "b"/);
  // Read the next pass: the same content is one version (nothing copied, no conflict).
  const same = planMirror({
    ...input,
    hashes: [new Map([["f.txt", "aa"]]), new Map([["f.txt", "aa"]])],
  });
  assert.deepEqual(same.conflicts, []);
  assert.deepEqual(same.resolved, []);
});

Deno.test("conflict copies are named after the losing version's time and location, beside the file", () => {
  assert.equal(
    conflictName("a/b/notes", Date.UTC(2026, 0, 2, 3, 4, 5), "nas"),
    "a/b/notes.conflict-20260102-030405-nas",
  );
  assert.equal(conflictName(".bashrc", 0, "x"), ".bashrc.conflict-19700101-000000-x");
  assert.ok(isConflictCopy("a/notes.conflict-20260102-030405-nas.txt"));
  assert.ok(!isConflictCopy("a/notes.txt"));
});

/**
 * A location that keeps times to 2 s (a FAT stick, a ZIP archive of DOS times): what it is
 * given is kept rounded down, listed with that precision, and a write gives back the time kept.
 */
class TwoSeconds extends MemoryBackend {
  constructor(name: string) {
    super({ name, caps: { timePrecision: 2000 } });
  }
  override write(key: string, data: ReadableStream<Uint8Array>, meta: WriteMeta): Promise<Entry> {
    return super.write(key, data, { ...meta, mtime: Math.floor(meta.mtime / 2000) * 2000 });
  }
  override async list(options?: ListOptions) {
    const l = await super.list(options);
    for (const e of l.entries) if (e.kind === "file") e.precision = 2000;
    return l;
  }
}

Deno.test("mirror with a location of 2 s times: the pass after one that kept conflict copies has nothing to do", async () => {
  for (const order of ["exact first", "coarse first"]) {
    const exact = [new MemoryBackend({ name: "exact" }), new MemoryBackend({ name: "more" })];
    const coarse = new TwoSeconds("stick");
    const ms: MemoryBackend[] = order === "exact first" ? [...exact, coarse] : [coarse, ...exact];
    const state = StateStore.open(":memory:");
    for (let f = 0; f < 3; f++) await put(ms[0]!, `f${f}.txt`, `base ${f}`, T0 + 1357 + f * 777);
    await pass(ms, state);
    // Every location edits every file, at odd seconds and milliseconds: conflicts everywhere.
    for (const [i, m] of ms.entries()) {
      for (let f = 0; f < 3; f++) {
        await put(m, `f${f}.txt`, `edit ${i}`, T0 + 61_357 + 3333 * i + 111 * f);
      }
    }
    let r = await pass(ms, state);
    assert.equal(r.summary.conflicts, 3, order);
    await assertConverged(ms, order);
    r = await pass(ms, state);
    const s = r.summary;
    assert.equal(
      s.copied + s.updated + s.moved + s.deleted + s.conflicts,
      0,
      `${order}: ${JSON.stringify(s)}`,
    );
    state.close();
  }
});

Deno.test("mirror: a location's hash cache never vouches for a version it no longer holds (a loser overwritten by a winner of its size and 2 s time)", async () => {
  const exact = new MemoryBackend({ name: "exact" });
  const stick = new TwoSeconds("stick");
  const ms = [exact, stick];
  const state = StateStore.open(":memory:");
  await put(exact, "f.txt", "v0", T0);
  await pass(ms, state);
  // Both edit: the stick at 60.1 s (kept as 60 s), the folder later, within the same 2 s tick.
  await put(stick, "f.txt", "CCCC", T0 + 60_100);
  await put(exact, "f.txt", "AAAA", T0 + 61_500);
  const r = await pass(ms, state);
  assert.equal(r.summary.conflicts, 1);
  assert.equal((await contents(stick)).get("f.txt"), "AAAA", "the winner, kept at 60 s again");
  // Hashed to tell the versions apart, the loser's hash was kept under the path, size and time
  // the winner now has there: a later comparison took the winner for the loser, and the
  // conflict came back every pass.
  const cache = new MirrorState(state, mirrorKey(ms), ms.map((m) => m.id), true).hashes(1);
  const row = cache.get("f.txt");
  const listed = (await stick.list()).entries.find((e) => e.key === "f.txt")!;
  if (row && row.size === listed.size && row.mtime === listed.mtime) {
    const sha = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode("AAAA")),
    );
    assert.equal(row.sha256, [...sha].map((b) => b.toString(16).padStart(2, "0")).join(""));
  }
  state.close();
});

Deno.test("conflict copies and messages tell apart locations whose paths end alike (an FTP server and a bucket both at mirror/)", async () => {
  const places = ["ftp://me:***@nas.local:2121/mirror", "s3://team/mirror", "/home/me/Mirror"];
  const ms = places.map((name) => new MemoryBackend({ name }));
  const state = StateStore.open(":memory:");
  const events: { event: string; message?: string }[] = [];
  const run = () => mirrorOnce(ms, { sink: { emit: (e) => events.push(e) }, state });
  await put(ms[0]!, "f.txt", "v0", T0);
  await run();
  for (const [i, m] of ms.entries()) await put(m, "f.txt", `edit ${i}`, T0 + 1000 * (i + 1));
  const r = await run();
  assert.equal(r.summary.conflicts, 1);
  const after = await assertConverged(ms, "labels");
  const kept = [...after.keys()].filter(isConflictCopy).sort();
  // Kind and host (or bucket) where the last parts clash, whatever their case; no dots.
  assert.deepEqual(kept, [
    "f.conflict-20260101-000001-ftp-nas_local_2121-mirror.txt",
    "f.conflict-20260101-000002-s3-team-mirror.txt",
  ]);
  assert.equal(after.get(kept[0]!), "edit 0");
  // The message names each location as the user wrote it (password masked).
  const message = events.find((e) => e.event === "conflict")?.message ?? "";
  assert.match(
    message,
    /changed in "ftp:\/\/me:\*\*\*@nas\.local:2121\/mirror" and "s3:\/\/team\/mirror"/,
  );
  assert.match(message, /from "\/home\/me\/Mirror"/);
  state.close();
});

Deno.test("mirror: a pass whose listings match the last pass that found nothing to do is done at once; any change is still seen", async () => {
  const ms = members(2);
  const state = StateStore.open(":memory:");
  const notes: string[] = [];
  const run = () =>
    mirrorOnce(ms, {
      sink: { emit: (e) => e.event === "note" && notes.push(e.message) },
      state,
    });
  const quick = () => notes.filter((n) => n.includes("found nothing to do")).length;
  await put(ms[0]!, "f.txt", "v0", T0);
  await run(); // copies
  await run(); // nothing to do: the listings are remembered
  assert.equal(quick(), 0);
  await run();
  assert.equal(quick(), 1, "the same listings: done at once");
  await put(ms[1]!, "f.txt", "v1", T0 + 1_000);
  const r = await run();
  assert.equal(quick(), 1, "a change is planned as usual");
  assert.equal(r.summary.updated, 1);
  assert.equal((await contents(ms[0]!)).get("f.txt"), "v1");
  await run(); // nothing to do again
  await run();
  assert.equal(quick(), 2);
  // With a member sitting the round out the pass is planned (its holds must stay as they are).
  const trio = [...ms, new MemoryBackend({ name: "m2" })];
  const runTrio = (list: Backend[]) =>
    mirrorOnce(list, { sink: { emit: (e) => e.event === "note" && notes.push(e.message) }, state });
  await runTrio(trio);
  await runTrio(trio);
  await runTrio(trio);
  assert.equal(quick(), 3, "the trio's no-op done at once");
  const r2 = await runTrio([trio[0]!, trio[1]!, offline(trio[2]!)]);
  assert.deepEqual(r2.takingPart, [0, 1]);
  assert.equal(quick(), 3, "not at once with a member out");
  state.close();
});

Deno.test("mirror --max-delete counts each location: a pass that would delete more of one is refused (exit 3), nothing written", async () => {
  const ms = members(3);
  const state = StateStore.open(":memory:");
  for (let i = 0; i < 10; i++) await put(ms[0]!, `f${i}.txt`, `v${i}`, T0);
  await pass(ms, state);
  for (let i = 0; i < 6; i++) await ms[1]!.remove(`f${i}.txt`);
  await assert.rejects(
    () => mirrorOnce(ms, { sink: silentSink, state, maxDelete: { percent: 50 } }),
    (e: Error) => {
      assert.match(
        e.message,
        /Refusing to delete 6 of 10 file\(s\) in "m0": over --max-delete 50%/,
      );
      assert.equal((e as { exitCode?: number }).exitCode, 3);
      return true;
    },
  );
  assert.equal((await contents(ms[0]!)).size, 10, "nothing deleted");
  assert.equal((await contents(ms[2]!)).size, 10);
  const forced = await mirrorOnce(ms, { sink: silentSink, state, force: true });
  assert.equal(forced.summary.deleted, 12);
  await assertConverged(ms, "forced");
  state.close();
});

Deno.test("mirror: a file edited again in the same tick as the pass that recorded it (racily clean) is compared by content, and nothing is lost", async () => {
  const ms = members(2);
  const state = StateStore.open(":memory:");
  const now = Date.now();
  await put(ms[0]!, "f.txt", "aaaa", now);
  await pass(ms, state); // recorded within a tick of the file's own time
  // Edited again: same size, same time, other content.
  await put(ms[0]!, "f.txt", "bbbb", now);
  const r = await pass(ms, state);
  const after = await assertConverged(ms, "racy");
  assert.ok([...after.values()].includes("bbbb"), "the edit is not lost");
  assert.ok(r.summary.updated + r.summary.copied > 0, "it was seen");
  state.close();
});

Deno.test("mirror: a racily clean file is compared by its content, not by a cached hash of the version it replaced (a settled conflict is not declared again every pass)", async () => {
  const ms = members(2);
  const state = StateStore.open(":memory:");
  // Two versions of one size and one time to the millisecond (two uploads to servers that
  // keep no times, in the same tick): taken for one file, as a copy made by `cp -p` would be.
  const now = Date.now();
  await put(ms[0]!, "f.txt", "AAAA", now);
  await put(ms[1]!, "f.txt", "BBBB", now);
  await pass(ms, state);
  // Recorded within a tick of their time, they are compared by content: one conflict, the
  // loser kept, and the loser's member given the winner, again of that size and time.
  let r = await pass(ms, state);
  assert.equal(r.summary.conflicts, 1);
  const after = await assertConverged(ms, "racy twins");
  assert.deepEqual([...after.values()].sort(), ["AAAA", "BBBB"]);
  // The hash cache knows the replaced version by the same size and time: taken from it, the
  // member looked changed again, and the conflict came back every pass.
  r = await pass(ms, state);
  const s = r.summary;
  assert.equal(s.copied + s.updated + s.moved + s.deleted + s.conflicts, 0, JSON.stringify(s));
  state.close();
});

Deno.test("mirror on a coarse clock: two versions of one size listed at the same second are compared by content, not taken for one file", async () => {
  // Two FTP servers listing times to the second, first met with no state: a file of one size,
  // uploaded to each at 10:00:01, one content on each. Taken for one file, both were recorded
  // as the agreed version; the next edit on either side overwrote the other, never kept.
  const ms = [0, 1].map((i) =>
    new MemoryBackend({ name: `ftp${i}`, caps: { timePrecision: 1000 } })
  );
  const state = StateStore.open(":memory:");
  const t = Date.UTC(2026, 0, 1, 10, 0, 1);
  await put(ms[0]!, "f.txt", "from one", t);
  await put(ms[1]!, "f.txt", "from two", t);
  const r = await pass(ms, state);
  assert.equal(r.summary.conflicts, 1, "two versions: one is kept as a conflict copy");
  const after = await assertConverged(ms, "same second");
  assert.deepEqual([...after.values()].sort(), ["from one", "from two"]);
  state.close();
});

Deno.test("mirror on a coarse clock: two edits of one size within one second are told apart by content, and a member that kept the old version gets the new one", () => {
  const t = T0 + 10_000;
  const hold = { size: 4, mtime: T0, ino: 0, dev: 0, stamp: null, ver: 1, racy: false };
  const file = (mtime: number) => ({ key: "f.bin", kind: "file" as const, size: 4, mtime });
  const member = (id: string, mtime: number, precision: number) => ({
    entries: [file(mtime)],
    holds: new Map([["f.bin", hold]]),
    label: id,
    id,
    dirs: true,
    canMove: true,
    timePrecision: precision,
    problems: [],
  });
  const agreed = new Map([["f.bin", { ver: 1, kind: "file" as const, size: 4, mtime: T0 }]]);
  // A folder edited at t + 0.2 s and an FTP server (whole seconds) edited at t: both changed.
  const input = {
    members: [member("local", t + 200, 1), member("ftp", t, 1000)],
    agreed,
    checksum: false,
    now: t + 5_000,
  };
  const wants = mirrorPlanner.wants(input);
  assert.deepEqual(wants.requests.map((w) => [w.at, w.keys]), [[0, ["f.bin"]], [1, ["f.bin"]]]);
  const differ = mirrorPlanner.plan(input, [
    new Map([["f.bin", "aa"]]),
    new Map([["f.bin", "bb"]]),
  ], wants.index);
  assert.equal(differ.resolved.length, 1, "two versions: a conflict, the loser kept");
  const same = mirrorPlanner.plan(
    input,
    [new Map([["f.bin", "aa"]]), new Map([["f.bin", "aa"]])],
    wants.index,
  );
  assert.equal(same.resolved.length, 0, "one content: no conflict");
  // Only the folder changed, within the second of the agreed version the server kept: the
  // server is updated all the same (its size and time look like the new version's).
  const atT = { ...hold, mtime: t };
  const one = {
    ...input,
    members: [
      { ...member("local", t + 200, 1), holds: new Map([["f.bin", atT]]) },
      { ...member("ftp", t, 1000), holds: new Map([["f.bin", atT]]) },
    ],
    agreed: new Map([["f.bin", { ver: 1, kind: "file" as const, size: 4, mtime: t }]]),
  };
  const plan = mirrorPlanner.plan(one, [], mirrorPlanner.wants(one).index);
  const ops = plan.steps.flatMap((s) => s.ops);
  assert.deepEqual(ops.map((o) => [o.op, o.at]), [["update", 1]]);
});
