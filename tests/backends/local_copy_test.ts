import assert from "node:assert/strict";
import { join } from "node:path";
import { copyFileAtomicSync, TargetChanged } from "../../lib/backends/local_copy.ts";

Deno.test("copyFileAtomicSync() keeps content, mtime and mode for small and large files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const big = new Uint8Array(3 << 20).map((_, i) => (i * 31) & 255);
    const cases: [string, Uint8Array, number][] = [
      ["small.sh", new TextEncoder().encode("#!/bin/sh\necho hi\n"), 0o755],
      ["shared.txt", new TextEncoder().encode("group-writable"), 0o664],
      ["big.bin", big, 0o600],
      ["empty", new Uint8Array(0), 0o644],
    ];
    for (const [name, data, mode] of cases) {
      const src = join(dir, name);
      await Deno.writeFile(src, data);
      await Deno.chmod(src, mode);
      const dst = join(dir, "out", "nested", name);
      copyFileAtomicSync(src, dst, 1_234_567_890_123);
      assert.deepEqual(await Deno.readFile(dst), data, name);
      const st = await Deno.stat(dst);
      assert.equal(st.mtime?.getTime(), 1_234_567_890_123, name);
      if (Deno.build.os !== "windows") assert.equal(st.mode! & 0o777, mode, name);
    }
    const names = [...Deno.readDirSync(join(dir, "out", "nested"))].map((e) => e.name).sort();
    assert.deepEqual(names, ["big.bin", "empty", "shared.txt", "small.sh"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("copyFileAtomicSync() refuses to overwrite a target that changed since the scan", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "src"), "new");
    await Deno.writeTextFile(join(dir, "dst"), "edited meanwhile");
    assert.throws(
      () => copyFileAtomicSync(join(dir, "src"), join(dir, "dst"), 5, { size: 3, mtime: 5 }),
      TargetChanged,
    );
    assert.equal(await Deno.readTextFile(join(dir, "dst")), "edited meanwhile");
    assert.throws(
      () => copyFileAtomicSync(join(dir, "missing"), join(dir, "x"), 5),
      Deno.errors.NotFound,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["dst", "src"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("copyFileAtomicSync() refuses a source whose size changed since the walk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "src"), "12345");
    assert.throws(
      () => copyFileAtomicSync(join(dir, "src"), join(dir, "a"), 5, undefined, { size: 3 }),
      /grew/,
    );
    assert.throws(
      () => copyFileAtomicSync(join(dir, "src"), join(dir, "b"), 5, undefined, { size: 9 }),
      /shrank/,
    );
    copyFileAtomicSync(join(dir, "src"), join(dir, "c"), 5, undefined, { size: 5, mode: 0o640 });
    assert.equal(await Deno.readTextFile(join(dir, "c")), "12345");
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(join(dir, "c"))).mode! & 0o777, 0o640);
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["c", "src"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
