/**
 * Names that differ only by case, with a location that folds case in the job. Before, a sync
 * copied both twins onto it (the second overwrote the first, a different one each run, no
 * failure), and a mirror took the twin it could not see there for deleted and deleted it
 * everywhere, or lost the newer of two files spelt differently on either side.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { syncOnce } from "../../lib/sync.ts";
import { mirrorOnce } from "../../lib/mirror.ts";
import { StateStore } from "../../lib/state/store.ts";
import { Recorder } from "./engine_suite.ts";

const T = 1_700_000_000_000;

async function put(b: MemoryBackend, key: string, text: string, mtime = T): Promise<void> {
  const data = new TextEncoder().encode(text);
  await b.write(key, ReadableStream.from([data]), { mtime, size: data.length });
}

async function files(b: MemoryBackend): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of (await b.list()).entries) {
    if (e.kind === "file") out[e.key] = await new Response(await b.read(e.key)).text();
  }
  return out;
}

Deno.test("case twins synced onto a location that folds case: one is synced, the other fails by name, the same on every run", async () => {
  const src = new MemoryBackend({ name: "src" });
  const dst = new MemoryBackend({ name: "stick", caps: { caseInsensitive: true } });
  await put(src, "README.txt", "upper");
  await put(src, "Readme.txt", "mixed");
  await put(src, "other.txt", "o");
  const state = StateStore.open(":memory:");
  for (let run = 0; run < 3; run++) {
    const r = await syncOnce(src, dst, { sink: new Recorder(), state, delete: true });
    assert.equal(r.summary.failed, 1, `run ${run}`);
    assert.equal(r.summary.copied + r.summary.updated, run === 0 ? 2 : 0, `run ${run}`);
    assert.deepEqual(r.failures.map((f) => f.path), ["Readme.txt"]);
    assert.match(r.failures[0]!.error, /differs only by case from "README\.txt", and "stick"/);
    assert.deepEqual(await files(dst), { "README.txt": "upper", "other.txt": "o" });
  }
  state.close();
});

Deno.test("mirror with a location that folds case: twins elsewhere are never deleted, and names spelt differently on either side are one file (newest wins, the other kept)", async () => {
  const a = new MemoryBackend({ name: "a" });
  const b = new MemoryBackend({ name: "b", caps: { caseInsensitive: true } });
  await put(a, "README.txt", "upper");
  await put(a, "Readme.txt", "mixed");
  await put(a, "notes.txt", "from a", T);
  await put(b, "NOTES.txt", "from b, newer", T + 60_000);
  const state = StateStore.open(":memory:");
  for (let pass = 0; pass < 3; pass++) {
    const r = await mirrorOnce([a, b], { sink: new Recorder(), state });
    assert.equal(r.summary.deleted, 0, `pass ${pass}`);
    assert.deepEqual(r.failures.map((f) => f.path), ["Readme.txt"], `pass ${pass}`);
  }
  const inA = await files(a);
  assert.equal(inA["README.txt"], "upper");
  assert.equal(inA["Readme.txt"], "mixed", "the twin the stick cannot hold is still there");
  assert.equal(inA["notes.txt"], "from b, newer");
  const kept = Object.entries(inA).find(([k]) => k.startsWith("notes.conflict-"));
  assert.equal(kept?.[1], "from a", "the older version is kept beside it");
  const inB = await files(b);
  assert.equal(inB["README.txt"], "upper");
  assert.equal(Object.values(inB).filter((t) => t === "from b, newer").length, 1);
  assert.ok(Object.values(inB).includes("from a"));
  state.close();
});

Deno.test("mirror with a path that fails every pass (a case twin): conflicts still settle in one pass; only deletions are held", async () => {
  const a = new MemoryBackend({ name: "a" });
  const b = new MemoryBackend({ name: "b", caps: { caseInsensitive: true } });
  await put(a, "README.txt", "upper");
  await put(a, "Readme.txt", "mixed");
  await put(a, "gone.txt", "g");
  await put(a, "notes.txt", "old", T);
  await put(b, "notes.txt", "new", T + 60_000);
  const state = StateStore.open(":memory:");
  const sink = new Recorder();
  let r = await mirrorOnce([a, b], { sink, state });
  assert.equal(r.summary.conflicts, 1);
  for (const m of [a, b]) {
    const fs = await files(m);
    assert.equal(fs["notes.txt"], "new", `${m.display}: the winner is written over the loser`);
    assert.ok(Object.values(fs).includes("old"), `${m.display}: the loser is kept as a copy`);
  }
  // A deletion while the twin still fails: held back, with a warning, and nothing is lost.
  await b.remove("gone.txt");
  r = await mirrorOnce([a, b], { sink, state });
  assert.equal(r.summary.deleted, 0);
  assert.ok(r.deletesHeld);
  assert.equal((await files(a))["gone.txt"], "g");
  state.close();
});
