import assert from "node:assert/strict";
import { join } from "node:path";
import {
  copyFileAtomicSync,
  CopyStopped,
  SourceChanged,
  TargetChanged,
} from "../../lib/backends/local/copy.ts";

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
      await Deno.utime(src, 1_234_567_890, 1_234_567_890.123);
      const got = copyFileAtomicSync(src, dst, 1_234_567_890_123);
      assert.deepEqual(got, { size: data.length, mtime: 1_234_567_890_123 }, name);
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

Deno.test("copyFileAtomicSync() copies the version a source has now when it changed since the walk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "src"), "12345");
    await Deno.utime(join(dir, "src"), 7, 7);
    // The walk saw 3 bytes (or 9): the file is looked at afresh and copied as it is now.
    for (const [name, size] of [["a", 3], ["b", 9]] as const) {
      const got = copyFileAtomicSync(join(dir, "src"), join(dir, name), 5, undefined, { size });
      assert.deepEqual(got, { size: 5, mtime: 7000 });
      assert.equal(await Deno.readTextFile(join(dir, name)), "12345");
      assert.equal((await Deno.stat(join(dir, name))).mtime?.getTime(), 7000);
    }
    copyFileAtomicSync(join(dir, "src"), join(dir, "c"), 7000, undefined, { size: 5, mode: 0o640 });
    assert.equal(await Deno.readTextFile(join(dir, "c")), "12345");
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(join(dir, "c"))).mode! & 0o777, 0o640);
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a", "b", "c", "src"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("copyFileAtomicSync() never lands a torn copy of a file edited while it is copied", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = join(dir, "big");
    await Deno.writeFile(src, new Uint8Array(24 << 20).fill(1));
    // An editor that rewrites the file in place between every chunk: never one version.
    let chunks = 0;
    const edit = () => {
      chunks++;
      const f = Deno.openSync(src, { write: true });
      f.writeSync(new Uint8Array(4096).fill(chunks & 255));
      f.close();
    };
    assert.throws(
      () => copyFileAtomicSync(src, join(dir, "out"), 0, undefined, undefined, undefined, edit),
      SourceChanged,
    );
    assert.ok(chunks >= 3, "copied in chunks");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["big"], "nothing left");
    // One edit only: the second attempt copies the edited version whole.
    let edits = 0;
    const once = () => {
      if (edits++ === 0) edit();
    };
    const got = copyFileAtomicSync(src, join(dir, "out"), 0, undefined, undefined, undefined, once);
    assert.deepEqual(await Deno.readFile(join(dir, "out")), await Deno.readFile(src));
    assert.equal(got.size, 24 << 20);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("copyFileAtomicSync() stops between chunks when asked, leaving nothing behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(join(dir, "big"), new Uint8Array(24 << 20));
    let asked = 0;
    assert.throws(
      () =>
        copyFileAtomicSync(
          join(dir, "big"),
          join(dir, "out"),
          0,
          undefined,
          undefined,
          () => ++asked > 1,
        ),
      CopyStopped,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["big"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
