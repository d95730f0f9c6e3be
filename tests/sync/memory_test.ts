import { MemoryBackend } from "../../lib/backends/memory.ts";
import assert from "node:assert/strict";
import { StateStore } from "../../lib/state/store.ts";
import { jobKey, syncOnce } from "../../lib/sync.ts";
import { wrapBackend } from "../_wrap.ts";
import { engineSuite, Recorder } from "./engine_suite.ts";

for (
  const [name, caps] of [
    ["memory -> memory", {}],
    // A destination that keeps no times (as vsftpd): ferry remembers what it wrote.
    ["memory -> memory (times remembered)", { modTime: "remembered" }],
    // A destination whose writes are durable only when committed (as a ZIP archive).
    ["memory -> memory (transactional)", { transactional: true }],
  ] as const
) {
  engineSuite(name, () => {
    const src = new MemoryBackend({ name: "mem-src" });
    const dst = new MemoryBackend({ name: "mem-dst", missingRoot: true, caps });
    const side = (s: "src" | "dst") => (s === "src" ? src : dst);
    return Promise.resolve({
      src,
      dst,
      async put(s, key, text, mtime = Date.now()) {
        const b = side(s);
        await b.createRoot();
        const data = new TextEncoder().encode(text);
        const before = b.bytesWritten;
        await b.write(key, ReadableStream.from([data]), { mtime, size: data.length });
        b.bytesWritten = before; // setup writes are not ferry's transfers
      },
      async read(s, key) {
        const b = side(s);
        if (!(await b.stat(key))) return undefined;
        return await new Response(await b.read(key)).text();
      },
      rename: (s, from, to) => side(s).move(from, to),
      remove: (s, key) => side(s).remove(key),
      dstBytesWritten: () => Promise.resolve(dst.bytesWritten),
      cleanup: () => Promise.resolve(),
    });
  });
}

Deno.test("times remembered: an edit to an older time, same size, is still seen (upload time would hide it)", async () => {
  const src = new MemoryBackend({ name: "src" });
  const dst = new MemoryBackend({ name: "dst", caps: { modTime: "remembered" } });
  const state = StateStore.open(":memory:");
  const put = (text: string, mtime: number) =>
    src.write("a.txt", ReadableStream.from([new TextEncoder().encode(text)]), {
      size: text.length,
      mtime,
    });
  await put("first", 1_500_000_000_000);
  await syncOnce(src, dst, { sink: new Recorder(), state });
  // The edit keeps the size and sets a time long before the upload: only the remembered
  // time (1.5e12, for the stamp the destination shows) tells it apart.
  await put("again", 1_600_000_000_000);
  const r = await syncOnce(src, dst, { sink: new Recorder(), state });
  assert.equal(r.summary.updated, 1);
  assert.equal(await new Response(await dst.read("a.txt")).text(), "again");
  const noop = await syncOnce(src, dst, { sink: new Recorder(), state });
  assert.equal(noop.summary.updated + noop.summary.copied, 0);
  state.close();
});

Deno.test("transactional destination: a commit that fails leaves the state as it was and nothing half-made", async () => {
  const src = new MemoryBackend({ name: "src" });
  const dst = new MemoryBackend({ name: "dst", caps: { transactional: true } });
  const state = StateStore.open(":memory:");
  for (const k of ["a", "b"]) {
    await src.write(k, ReadableStream.from([new TextEncoder().encode(k)]), {
      size: 1,
      mtime: 1e12,
    });
  }
  const failing = wrapBackend(dst, {
    commit: () => Promise.reject(new Error("disk full while writing the directory")),
  });
  await assert.rejects(syncOnce(src, failing, { sink: new Recorder(), state }), /disk full/);
  assert.equal(state.forJob(jobKey(src, dst)).count(dst.id), 0, "no state ahead of its backend");
  assert.equal(await dst.stat("a"), undefined, "the writes were rolled back");
  const r = await syncOnce(src, dst, { sink: new Recorder(), state });
  assert.equal(r.summary.copied, 2);
  assert.equal(state.forJob(jobKey(src, dst)).count(dst.id), 2);
  assert.equal((await dst.reopened().stat("b"))?.size, 1, "committed: a reopen finds it");
  state.close();
});
