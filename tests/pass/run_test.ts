/**
 * Rules `runPass` applies to both kinds alike (issue 21, "One pass, two kinds"): where the two
 * passes used to disagree, one behaviour now.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { mirrorOnce } from "../../lib/mirror.ts";
import { StateStore } from "../../lib/state/store.ts";
import { syncOnce } from "../../lib/sync.ts";
import { Recorder } from "../sync/engine_suite.ts";

const T = 1_700_000_000_000;

async function put(b: MemoryBackend, key: string, text: string, mtime = T): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  await b.write(key, ReadableStream.from([bytes]), { size: bytes.length, mtime });
}

Deno.test("runPass: a conflict the plan leaves unresolved counts in failed, for a sync as for a mirror", async () => {
  // A sync without --delete: a file in the source where the destination has a folder.
  const src = new MemoryBackend({ name: "a" });
  const dst = new MemoryBackend({ name: "b" });
  await put(src, "p", "file");
  await put(dst, "p/inner.txt", "in a folder");
  const s = await syncOnce(src, dst, { sink: new Recorder() });
  assert.equal(s.summary.conflicts, 1);
  assert.equal(s.summary.failed, 1);
  assert.deepEqual(s.failures.map((f) => f.path), ["p"]);
  // A mirror: the same clash between two members.
  const m1 = new MemoryBackend({ name: "m1" });
  const m2 = new MemoryBackend({ name: "m2" });
  await put(m1, "p", "file");
  await put(m2, "p/inner.txt", "in a folder");
  const state = StateStore.open(":memory:");
  const m = await mirrorOnce([m1, m2], { sink: new Recorder(), state });
  assert.equal(m.summary.conflicts, 1);
  assert.equal(m.summary.failed, 1);
  state.close();
});

Deno.test("runPass: a dry run's events name the location each operation acts on, for a sync as for a mirror", async () => {
  const src = new MemoryBackend({ name: "a" });
  const dst = new MemoryBackend({ name: "b" });
  await put(src, "x.txt", "x");
  const sink = new Recorder();
  const s = await syncOnce(src, dst, { sink, dryRun: true });
  assert.equal(s.summary.copied, 1);
  assert.deepEqual(sink.of("copy").map((e) => [e.location, e.event === "copy" && e.dryRun]), [
    [dst.display, true],
  ]);
  const m1 = new MemoryBackend({ name: "m1" });
  const m2 = new MemoryBackend({ name: "m2" });
  await put(m2, "y.txt", "y");
  const msink = new Recorder();
  await mirrorOnce([m1, m2], { sink: msink, dryRun: true });
  assert.deepEqual(msink.of("copy").map((e) => e.location), [m1.display]);
});

Deno.test("runPass: listing problems are failed and reported with their location, in the destination of a sync too", async () => {
  const src = new MemoryBackend({ name: "a" });
  const dst = new MemoryBackend({ name: "b" });
  await put(src, "x.txt", "x");
  const listing = dst.list.bind(dst);
  dst.list = async (o) => {
    const l = await listing(o);
    l.problems.push({ key: "unreadable", message: "Permission denied" });
    return l;
  };
  const sink = new Recorder();
  const r = await syncOnce(src, dst, { sink });
  assert.equal(r.summary.failed, 1);
  assert.deepEqual(sink.of("fail").map((e) => [e.event === "fail" && e.path, e.location]), [
    ["unreadable", dst.display],
  ]);
});
