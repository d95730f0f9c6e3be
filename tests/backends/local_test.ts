import assert from "node:assert/strict";
import { join } from "node:path";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { syncOnce } from "../../lib/sync.ts";
import { Recorder } from "../sync/engine_suite.ts";
import { conformance } from "../backend_conformance.ts";
import { LocalBackend, type LocalOptions } from "../../lib/backends/local.ts";

// The default walker (GNU find on Linux, else the built-in one), the built-in walker, and the
// built-in walker with its Worker doing all the shared work.
const walkers: [string, LocalOptions][] = [
  ["local", {}],
  ["local (built-in walker)", { builtinWalker: true }],
  ["local (walk in a Worker)", { listInWorker: true }],
];
for (const [name, options] of walkers) {
  conformance(name, async () => {
    const dir = await Deno.makeTempDir({ prefix: "ferry-conf-" });
    return {
      backend: new LocalBackend(dir, options),
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  }, { skipNames: (n) => Deno.build.os === "windows" && /[\n"<>?*|:]/.test(n) });
}

Deno.test("local (Windows name rules): device names and trailing dots fail one by one, the rest is copied", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-winnames-" });
  try {
    const src = new MemoryBackend({ name: "src" });
    const put = (k: string) =>
      src.write(k, ReadableStream.from([new TextEncoder().encode(k)]), {
        size: k.length,
        mtime: 1e12,
      });
    // Enough files for the copy Workers, and the names Windows refuses among them.
    for (let i = 0; i < 70; i++) await put(`many/f${i}.txt`);
    for (const k of ["CON", "docs/aux.txt", "docs/ok.txt", "notes./a.txt", "what?.txt"]) {
      await put(k);
    }
    const rec = new Recorder();
    const r = await syncOnce(src, new LocalBackend(dir, { windowsNames: true }), { sink: rec });
    const failed = rec.of("fail").map((e) => e.event === "fail" ? e.path : "").sort();
    assert.deepEqual(failed, ["CON", "docs/aux.txt", "notes.", "notes./a.txt", "what?.txt"]);
    assert.ok(rec.of("fail").every((e) => e.event === "fail" && /Windows/.test(e.error)));
    assert.equal(r.summary.copied, 71);
    assert.equal(Deno.readTextFileSync(join(dir, "docs", "ok.txt")), "docs/ok.txt");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("local: a path longer than Windows' old 260-character limit is written, listed and read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-long-" });
  try {
    const key = Array.from({ length: 6 }, (_, i) => `${i}`.padEnd(60, "x")).join("/") + "/f.txt";
    const b = new LocalBackend(dir);
    assert.ok(b.localPath(key).length > 300);
    await b.write(key, ReadableStream.from([new TextEncoder().encode("deep")]), {
      size: 4,
      mtime: 1e12,
    });
    const listed = (await b.list()).entries.filter((e) => e.kind === "file").map((e) => e.key);
    assert.deepEqual(listed, [key]);
    assert.equal(await new Response(await b.read(key)).text(), "deep");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
