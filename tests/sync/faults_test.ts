/**
 * "Nothing is lost" on a local disk: kill -9 mid-run, folders deleted mid-run, names in
 * another normal form.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalBackend } from "../../lib/backends/local.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { StateStore } from "../../lib/state/store.ts";
import { syncOnce } from "../../lib/sync.ts";
import { opsOf } from "../../lib/plan/types.ts";
import { ferryArgs, listFiles } from "../cli/_run.ts";
import { Recorder } from "./engine_suite.ts";
import { wrapBackend } from "../_wrap.ts";

async function tree(root: string, n: number, size: number): Promise<void> {
  const chunk = new Uint8Array(size).map((_, i) => i & 255);
  for (let i = 0; i < n; i++) {
    const dir = join(root, `d${i % 10}`);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(join(dir, `f${i}.bin`), chunk);
  }
}

Deno.test("killed with SIGKILL mid-run, no partial file is visible and a rerun converges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-kill-" });
  try {
    const src = join(dir, "src");
    const dst = join(dir, "dst");
    await tree(src, 300, 256 * 1024);
    const child = new Deno.Command(Deno.execPath(), {
      args: ferryArgs(["sync", src, dst, "-q"]),
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Wait until copying is under way, then kill without warning.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        if (listFiles(dst).length > 20) break;
      } catch { /* not created yet */ }
    }
    child.kill("SIGKILL");
    await child.status;
    const partial = listFiles(dst);
    assert.ok(partial.length < 300, "the kill came too late to test anything");
    for (const f of partial) {
      if (f.split("/").pop()!.startsWith(".ferry-tmp-")) continue; // invisible to ferry, cleaned later
      assert.equal((await Deno.stat(join(dst, f))).size, 256 * 1024, `${f} is half-written`);
    }
    const again = await new Deno.Command(Deno.execPath(), {
      args: ferryArgs(["sync", src, dst, "--json"]),
    }).output();
    assert.equal(again.code, 0, new TextDecoder().decode(again.stderr));
    // The killed run's temporary files went too: their writer is gone.
    assert.deepEqual(listFiles(dst), listFiles(src));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a destination deleted mid-run is created again and the run completes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-gone-" });
  try {
    const src = join(dir, "src");
    const dst = join(dir, "dst");
    await tree(src, 40, 1000);
    let removed = false;
    const sink = new Recorder();
    const emit = sink.emit.bind(sink);
    sink.emit = (e) => {
      emit(e);
      if (!removed && e.event === "copy") {
        removed = true;
        Deno.removeSync(dst, { recursive: true });
      }
    };
    const state = StateStore.open(":memory:");
    const r = await syncOnce(new LocalBackend(src), new LocalBackend(dst), {
      sink,
      state,
      concurrency: 1,
    });
    state.close();
    assert.equal(removed, true);
    assert.equal(r.summary.failed, 0, JSON.stringify(r.failures));
    assert.equal(listFiles(dst).length, 39); // the one copied before the deletion is gone
    const r2 = await syncOnce(new LocalBackend(src), new LocalBackend(dst), {
      sink: new Recorder(),
    });
    assert.equal(r2.summary.copied, 1);
    assert.deepEqual(listFiles(dst), listFiles(src));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a source name in NFD matches its NFC copy: nothing is copied twice", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-nfd-" });
  try {
    const src = join(dir, "src");
    const dst = join(dir, "dst");
    await Deno.mkdir(src);
    const nfd = "Cafe\u0301 Ole\u0301.txt";
    await Deno.writeTextFile(join(src, nfd), "café");
    const state = StateStore.open(":memory:");
    const first = await syncOnce(new LocalBackend(src), new LocalBackend(dst), {
      sink: new Recorder(),
      state,
    });
    assert.equal(first.summary.copied, 1);
    const second = await syncOnce(new LocalBackend(src), new LocalBackend(dst), {
      sink: new Recorder(),
      state,
      delete: true,
    });
    state.close();
    assert.equal(opsOf(second.plan).length, 0);
    assert.equal(listFiles(dst).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a rename proven by the inode needs no hashing (1 GB folders rename at once)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ino-" });
  try {
    const src = join(dir, "src");
    const dst = join(dir, "dst");
    await tree(src, 20, 4096);
    const state = StateStore.open(":memory:");
    await syncOnce(new LocalBackend(src), new LocalBackend(dst), { sink: new Recorder(), state });
    await Deno.rename(join(src, "d3"), join(src, "renamed d3"));
    await Deno.rename(join(src, "d4", "f4.bin"), join(src, "d4", "f4 renamed.bin"));
    // Reading the source would mean hashing: make every read fail.
    const noReads = wrapBackend(new LocalBackend(src), {
      read: () => Promise.reject(new Error("content was read")),
    });
    const rec = new Recorder();
    const r = await syncOnce(noReads, new LocalBackend(dst), { sink: rec, state, delete: true });
    state.close();
    assert.equal(r.summary.failed, 0, JSON.stringify(r.failures));
    assert.equal(r.summary.moved, 3);
    assert.equal(r.summary.copied + r.summary.updated + r.summary.deleted, 0);
    assert.equal(rec.of("move").length, 2);
    assert.deepEqual(listFiles(dst), listFiles(src));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an object-store key that is both a file and a folder is reported as skipped, not dropped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-shadow-" });
  try {
    // Object stores allow "x" and "x/y" side by side; a disk cannot hold both.
    const store = new MemoryBackend({ name: "store", caps: { dirs: false } });
    await store.write("x/y.txt", ReadableStream.from([new TextEncoder().encode("y")]), {
      mtime: 1e12,
      size: 1,
    });
    const listing = await store.list();
    const withFile = wrapBackend(store, {
      list: () =>
        Promise.resolve({
          ...listing,
          entries: [
            ...listing.entries.filter((e) => e.kind === "file"),
            { key: "x", kind: "file" as const, size: 1, mtime: 1e12 },
          ],
        }),
    });
    const rec = new Recorder();
    const r = await syncOnce(withFile, new LocalBackend(dir), { sink: rec, delete: true });
    assert.equal(r.summary.copied, 1);
    assert.equal(r.summary.skipped, 1);
    assert.ok(rec.of("skip").some((e) => e.event === "skip" && e.path === "x"));
    assert.deepEqual(listFiles(dir), ["x/y.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
