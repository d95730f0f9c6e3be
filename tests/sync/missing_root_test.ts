/**
 * Once a job has state, a location root that is missing is never made again (an unplugged stick
 * must not come back as an empty folder on the disk it was mounted on): the library's own rule,
 * whatever the CLI does around it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { SafetyError } from "../../lib/errors.ts";
import { mirrorOnce } from "../../lib/mirror.ts";
import { StateStore } from "../../lib/state/store.ts";
import { syncOnce } from "../../lib/sync.ts";
import { Recorder } from "./engine_suite.ts";

Deno.test("mirrorOnce() makes a missing member on the job's first pass only, even one that held no file", async () => {
  const state = StateStore.open(":memory:");
  try {
    const a = new MemoryBackend({ name: "mem-a" });
    let b = new MemoryBackend({ name: "mem-b", missingRoot: true });
    await mirrorOnce([a, b], { sink: new Recorder(), state });
    assert.equal(await b.rootExists(), true, "made on the first pass");
    // Gone (the same location, by its name): it sits out, and with two members nothing runs.
    b = new MemoryBackend({ name: "mem-b", missingRoot: true });
    const sink = new Recorder();
    await assert.rejects(mirrorOnce([a, b], { sink, state }), SafetyError);
    assert.equal(await b.rootExists(), false, "not made again");
    assert.ok(
      sink.events.some((e) =>
        e.event === "note" && /is missing, but took part .*not created again/.test(e.message)
      ),
    );
  } finally {
    state.close();
  }
});

Deno.test("syncOnce() refuses a destination it synced into that is now missing; --force makes it", async () => {
  const state = StateStore.open(":memory:");
  try {
    const src = new MemoryBackend({ name: "mem-src" });
    await src.write("a.txt", ReadableStream.from([new TextEncoder().encode("a")]), {
      mtime: 1e12,
      size: 1,
    });
    let dst = new MemoryBackend({ name: "mem-dst", missingRoot: true });
    await syncOnce(src, dst, { sink: new Recorder(), state });
    assert.equal(await dst.rootExists(), true);
    dst = new MemoryBackend({ name: "mem-dst", missingRoot: true });
    await assert.rejects(
      syncOnce(src, dst, { sink: new Recorder(), state }),
      (err: unknown) =>
        err instanceof SafetyError &&
        /"mem-dst" is missing, but the last sync left 1 file\(s\) there/.test(err.message),
    );
    assert.equal(await dst.rootExists(), false);
    const r = await syncOnce(src, dst, { sink: new Recorder(), state, force: true });
    assert.equal(r.summary.copied, 1);
  } finally {
    state.close();
  }
});
