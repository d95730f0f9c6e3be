/**
 * The one suite every backend passes. A backend's test file is a few lines calling
 * {@linkcode conformance} with a factory for a fresh, empty location.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Backend, FAST_PATHS } from "../lib/backends/backend.ts";
import { SafetyError } from "../lib/errors.ts";

/** A fresh empty location and how to throw it away. */
export interface Fixture {
  backend: Backend;
  cleanup(): Promise<void>;
  /** The same location as a new process would open it (transactional backends). */
  reopen?(): Promise<Backend>;
}

/** Deliberately awkward names, after rclone's conformance suite. */
export const AWKWARD_NAMES = [
  "hello? sausage/êé/Hello, 世界/ \" ' @ < > & ? + ≠/z.txt",
  "with space/and  two  spaces.txt",
  "unicode/ünïcödé/日本語ファイル.txt",
  "emoji/🚀 launch.md",
  "dots/.hidden/..two-dots-start",
  "percent/100% done #1.txt",
  "deep/a/b/c/d/e/f/g/h/i/j/k.txt",
  "name\nwith newline.txt",
];

function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function streamOf(data: Uint8Array): ReadableStream<Uint8Array> {
  return ReadableStream.from([data]);
}

async function readAll(b: Backend, key: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(await b.read(key)).arrayBuffer());
}

/**
 * Register the conformance tests for one backend.
 *
 * @param name The backend's name, used in test names.
 * @param make Creates a fresh, empty, existing location.
 * @param options Names the backend cannot store (for example a newline on Windows).
 */
export function conformance(
  name: string,
  make: () => Promise<Fixture>,
  options: {
    skipNames?: (name: string) => boolean;
    /**
     * Stamps are made of the size and the time the server shows (an FTP server that lists with
     * LIST): `"set"` where the server keeps the time written, so an overwrite is seen when the
     * size or the time changes (the test's overwrite moves the time by two days, past LIST's
     * coarsest precision); `"upload"` where the server keeps only when the file arrived, so two
     * uploads of one size within a minute cannot be told apart, and only agreement is tested.
     */
    stampsOfSizeAndTime?: "set" | "upload";
  } = {},
): void {
  const names = AWKWARD_NAMES.filter((n) => !options.skipNames?.(n));

  async function withFixture(fn: (b: Backend, fx: Fixture) => Promise<void>): Promise<void> {
    const fx = await make();
    try {
      assert.equal((await fx.backend.open("write")).exists, true);
      await fn(fx.backend, fx);
    } finally {
      await fx.backend.close();
      await fx.cleanup();
    }
  }

  Deno.test(`${name}: write() then read() returns the same bytes and list() shows awkward names`, () =>
    withFixture(async (b) => {
      for (const [i, key] of names.entries()) {
        const data = bytes(`content ${i} of ${key}`);
        const e = await b.write(key, streamOf(data), {
          mtime: 1_600_000_000_000 + i,
          size: data.length,
        });
        assert.equal(e.key, key);
        assert.equal(e.size, data.length);
      }
      const listing = await b.list();
      const files = listing.entries.filter((e) => e.kind === "file").map((e) => e.key).sort();
      assert.deepEqual(files, [...names].sort());
      for (const [i, key] of names.entries()) {
        assert.deepEqual(await readAll(b, key), bytes(`content ${i} of ${key}`));
      }
      // Every parent folder of every file is listed as a folder (where folders exist).
      if (!b.caps.dirs) return;
      const dirs = new Set(listing.entries.filter((e) => e.kind === "dir").map((e) => e.key));
      for (const key of names) {
        const parts = key.split("/");
        for (let n = 1; n < parts.length; n++) {
          assert.ok(dirs.has(parts.slice(0, n).join("/")), key);
        }
      }
    }));

  Deno.test(`${name}: caps.local is fixed before open() and set exactly where localPath is`, async () => {
    const fx = await make();
    const b = fx.backend;
    try {
      const before = b.caps.local;
      assert.equal(typeof before, "boolean");
      await b.open("write");
      assert.equal(b.caps.local, before);
      assert.equal(b.caps.local, typeof b.localPath === "function");
    } finally {
      await b.close();
      await fx.cleanup();
    }
  });

  Deno.test(`${name}: caps.fast declares exactly the fast paths it has`, async () => {
    const fx = await make();
    const b = fx.backend;
    try {
      await b.open("write");
      // The engine takes a fast path only where its flag is on: an undeclared method is never
      // used, and a flag without its method would fail the run.
      const declared = FAST_PATHS.filter((n) => b.caps.fast?.[n] === true);
      const offered = FAST_PATHS.filter((n) => typeof b[n] === "function");
      assert.deepEqual(declared, offered);
    } finally {
      await b.close();
      await fx.cleanup();
    }
  });

  Deno.test(`${name}: write() keeps the modification time within the declared precision`, () =>
    withFixture(async (b) => {
      if (b.caps.modTime === "remembered") return;
      const mtime = Date.UTC(2021, 4, 6, 7, 8, 9, 123);
      await b.write("t.txt", streamOf(bytes("x")), { mtime, size: 1 });
      const e = await b.stat("t.txt");
      assert.ok(e);
      assert.ok(Math.abs(e.mtime - mtime) < b.caps.timePrecision, `${e.mtime} vs ${mtime}`);
      const listed = (await b.list()).entries.find((x) => x.key === "t.txt");
      assert.ok(listed && Math.abs(listed.mtime - mtime) < b.caps.timePrecision);
    }));

  Deno.test(`${name}: write() overwrites an existing file and leaves no temporary name`, () =>
    withFixture(async (b) => {
      await b.write("dir/f.bin", streamOf(bytes("first version, longer")), {
        mtime: 1e12,
        size: 21,
      });
      await b.write("dir/f.bin", streamOf(bytes("second")), { mtime: 2e12, size: 6 });
      assert.deepEqual(await readAll(b, "dir/f.bin"), bytes("second"));
      const keys = (await b.list()).entries.map((e) => e.key);
      assert.deepEqual(keys.sort(), b.caps.dirs ? ["dir", "dir/f.bin"] : ["dir/f.bin"]);
    }));

  Deno.test(`${name}: a write whose stream fails leaves nothing at the name`, () =>
    withFixture(async (b) => {
      await b.write("keep.txt", streamOf(bytes("old")), { mtime: 1e12, size: 3 });
      for (const key of ["keep.txt", "new.txt"]) {
        const failing = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(bytes("partial"));
            c.error(new Error("connection reset"));
          },
        });
        await assert.rejects(b.write(key, failing, { mtime: 1e12, size: 100 }));
      }
      assert.deepEqual(await readAll(b, "keep.txt"), bytes("old"));
      assert.equal(await b.stat("new.txt"), undefined);
      // No temporary file is left behind either (a local folder shows it on disk).
      if (b.localPath) {
        const raw = [...Deno.readDirSync(b.localPath(""))].map((e) => e.name);
        assert.deepEqual(raw.filter((n) => n.startsWith(".ferry-tmp-")), []);
      }
      assert.deepEqual((await b.list()).entries.map((e) => e.key), ["keep.txt"]);
    }));

  Deno.test(`${name}: a large file is streamed through intact`, () =>
    withFixture(async (b) => {
      const chunk = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 255);
      const chunks = 6;
      const stream = ReadableStream.from((function* () {
        for (let i = 0; i < chunks; i++) yield chunk;
      })());
      await b.write("big.bin", stream, { mtime: 1e12, size: chunk.length * chunks });
      const e = await b.stat("big.bin");
      assert.equal(e?.size, chunk.length * chunks);
      let n = 0;
      for await (const c of await b.read("big.bin")) {
        for (let i = 0; i < c.length; i += 4099) {
          assert.equal(c[i], ((n + i) % (1 << 20) * 7) & 255);
        }
        n += c.length;
      }
      assert.equal(n, chunk.length * chunks);
    }));

  Deno.test(`${name}: stat() of a missing key is undefined and remove() deletes`, () =>
    withFixture(async (b) => {
      assert.equal(await b.stat("nope.txt"), undefined);
      assert.equal(await b.stat("no/such/dir/file"), undefined);
      await b.write("a/x.txt", streamOf(bytes("x")), { mtime: 1e12, size: 1 });
      if (b.caps.dirs) assert.equal((await b.stat("a"))?.kind, "dir");
      await b.remove("a/x.txt");
      assert.equal(await b.stat("a/x.txt"), undefined);
      await b.rmdir("a");
      assert.equal(await b.stat("a"), undefined);
    }));

  Deno.test(`${name}: rmdir() refuses a folder that is not empty`, () =>
    withFixture(async (b) => {
      if (!b.caps.dirs) return; // folders are key prefixes: nothing to remove
      await b.write("full/x.txt", streamOf(bytes("x")), { mtime: 1e12, size: 1 });
      await assert.rejects(b.rmdir("full"));
      assert.equal((await b.stat("full/x.txt"))?.size, 1);
    }));

  Deno.test(`${name}: mkdir() creates empty folders, with parents`, () =>
    withFixture(async (b) => {
      if (!b.caps.dirs) return; // object stores hold no empty folders
      await b.mkdir("empty/inner");
      const dirs = (await b.list()).entries.filter((e) => e.kind === "dir").map((e) => e.key);
      assert.deepEqual(dirs.sort(), ["empty", "empty/inner"]);
    }));

  Deno.test(`${name}: unsafe keys are refused before anything is touched`, () =>
    withFixture(async (b) => {
      for (const key of ["../escape.txt", "/abs.txt", "C:/x.txt", "a/../../b", "a\\b", "a//b"]) {
        await assert.rejects(
          b.write(key, streamOf(bytes("x")), { mtime: 1e12, size: 1 }),
          RangeError,
          key,
        );
      }
      assert.deepEqual((await b.list()).entries, []);
    }));

  Deno.test(`${name}: move() renames files and folders without rewriting content`, () =>
    withFixture(async (b) => {
      if (!b.move) return;
      await b.write("from/a.txt", streamOf(bytes("aaa")), { mtime: 1e12, size: 3 });
      await b.write("from/sub/b.txt", streamOf(bytes("bb")), { mtime: 1e12, size: 2 });
      await b.write("f.txt", streamOf(bytes("f")), { mtime: 1e12, size: 1 });
      await b.move("f.txt", "moved/g.txt");
      await b.move("from", "to/here");
      const files = (await b.list()).entries.filter((e) => e.kind === "file").map((e) => e.key);
      assert.deepEqual(files.sort(), ["moved/g.txt", "to/here/a.txt", "to/here/sub/b.txt"]);
      assert.deepEqual(await readAll(b, "to/here/sub/b.txt"), bytes("bb"));
      await assert.rejects(b.move("moved/g.txt", "to/here/a.txt"), "move must not overwrite");
      assert.deepEqual(await readAll(b, "to/here/a.txt"), bytes("aaa"));
    }));

  Deno.test(`${name}: names differing only in normal form (NFC/NFD) are one key`, () =>
    withFixture(async (b) => {
      const nfd = "cafe\u0301.txt";
      await b.write(nfd, streamOf(bytes("x")), { mtime: 1e12, size: 1 });
      const keys = (await b.list()).entries.map((e) => e.key);
      assert.deepEqual(keys, ["caf\u00e9.txt"]);
      assert.equal((await b.stat("caf\u00e9.txt"))?.size, 1);
    }));

  Deno.test(`${name}: capabilities are honest once open() has returned`, () =>
    withFixture(async (b) => {
      const c = b.caps;
      assert.ok(c.timePrecision >= 1 && c.concurrency >= 1);
      assert.ok(["stored", "slow", "remembered"].includes(c.modTime));
      // Case: a name written in one case is found in another exactly when declared.
      await b.write("Case.TXT", streamOf(bytes("c")), { mtime: 1e12, size: 1 });
      assert.equal((await b.stat("case.txt")) !== undefined, c.caseInsensitive);
      // Time: what comes back is within the declared precision (an odd second and ms).
      if (c.modTime === "remembered") return;
      const t = Date.UTC(2022, 0, 1, 0, 0, 1, 7);
      await b.write("t.bin", streamOf(bytes("t")), { mtime: t, size: 1 });
      const back = (await b.list()).entries.find((e) => e.key === "t.bin")!;
      const stat = await b.stat("t.bin");
      const mtime = back.metaPending ? stat!.mtime : back.mtime;
      assert.ok(Math.abs(mtime - t) < c.timePrecision, `${mtime} vs ${t}`);
    }));

  Deno.test(`${name}: list({ under }) lists those subtrees only, and the folders leading there`, () =>
    withFixture(async (b) => {
      for (const k of ["a/x.txt", "a/b/y.txt", "ab/z.txt", "c/d/e/w.txt", "top.txt"]) {
        await b.write(k, streamOf(bytes(k)), { mtime: 1e12, size: k.length });
      }
      const files = (l: Awaited<ReturnType<Backend["list"]>>) =>
        l.entries.filter((e) => e.kind === "file").map((e) => e.key).sort();
      assert.deepEqual(files(await b.list({ under: ["a"] })), ["a/b/y.txt", "a/x.txt"]);
      const deep = await b.list({ under: ["c/d/e", "top.txt", "missing/folder"] });
      assert.deepEqual(files(deep), ["c/d/e/w.txt", "top.txt"]);
      if (b.caps.dirs) {
        const dirs = deep.entries.filter((e) => e.kind === "dir").map((e) => e.key).sort();
        assert.deepEqual(dirs, ["c", "c/d", "c/d/e"]);
      }
      assert.deepEqual(files(await b.list({ under: ["a/b", "a"] })), ["a/b/y.txt", "a/x.txt"]);
      assert.deepEqual(files(await b.list({ under: [""] })), files(await b.list()));
    }));

  Deno.test(`${name}: a .ferry folder at any depth is ferry's own: list() never shows it`, () =>
    withFixture(async (b) => {
      for (
        const key of [
          "a.txt",
          "sub/b.txt",
          ".ferry/state.db",
          "sub/.ferry/state.db",
          "sub/deeper/.ferry/logs/x.log",
        ]
      ) {
        await b.write(key, streamOf(bytes(key)), { mtime: 1e12, size: key.length });
      }
      for (const l of [await b.list(), await b.list({ under: ["sub"] })]) {
        const keys = l.entries.map((e) => e.key);
        assert.ok(keys.includes("sub/b.txt"), keys.join(", "));
        assert.deepEqual(keys.filter((k) => k.includes(".ferry")), []);
      }
    }));

  Deno.test(`${name}: stamps agree between list(), stat() and write(), and change on overwrite`, () =>
    withFixture(async (b) => {
      const first = await b.write("s.txt", streamOf(bytes("one")), { mtime: 1e12, size: 3 });
      const listed = (await b.list()).entries.find((e) => e.key === "s.txt")!;
      const stat = (await b.stat("s.txt"))!;
      assert.equal(listed.stamp, stat.stamp);
      if (first.stamp !== undefined) assert.equal(first.stamp, stat.stamp);
      if (stat.stamp === undefined) return;
      if (options.stampsOfSizeAndTime === "upload") return;
      const again = options.stampsOfSizeAndTime ? 1e12 + 2 * 86_400_000 : 1e12;
      await b.write("s.txt", streamOf(bytes("two")), { mtime: again, size: 3 });
      assert.notEqual((await b.stat("s.txt"))!.stamp, stat.stamp);
    }));

  Deno.test(`${name}: a write not committed is absent after reopening; a committed one stays`, () =>
    withFixture(async (b, fx) => {
      if (!b.caps.transactional) {
        // Durable at once: what was written is there for a new process too.
        await b.write("now.txt", streamOf(bytes("n")), { mtime: 1e12, size: 1 });
        const again = fx.reopen ? await fx.reopen() : b;
        assert.equal((await again.stat("now.txt"))?.size, 1);
        return;
      }
      assert.ok(fx.reopen, "a transactional fixture can reopen its location");
      await b.begin!();
      await b.write("kept.txt", streamOf(bytes("k")), { mtime: 1e12, size: 1 });
      await b.commit!();
      await b.begin!();
      await b.write("lost.txt", streamOf(bytes("l")), { mtime: 1e12, size: 1 });
      // Another run meanwhile is refused (the location is held for this pass: a ZIP archive) or
      // sees what was committed only.
      const again = await fx.reopen();
      let refused = false;
      try {
        await again.open("read");
      } catch (err) {
        assert.ok(err instanceof SafetyError && /in use by another ferry run/.test(err.message));
        refused = true;
      }
      if (!refused) {
        assert.equal((await again.stat("kept.txt"))?.size, 1);
        assert.equal(await again.stat("lost.txt"), undefined);
      }
      await again.close();
      await b.rollback!();
      assert.equal(await b.stat("lost.txt"), undefined);
      // The pass over, a run that opens the location finds the committed write only.
      b.endPass?.();
      const later = await fx.reopen();
      await later.open("read");
      assert.equal((await later.stat("kept.txt"))?.size, 1);
      assert.equal(await later.stat("lost.txt"), undefined);
      await later.close();
    }));

  Deno.test(`${name}: copy() and setModTime() where offered: content kept, nothing sent through ferry`, () =>
    withFixture(async (b) => {
      if (!b.copy && !b.setModTime) return;
      const t = Date.UTC(2020, 1, 2, 3, 4, 6);
      await b.write("orig/a.txt", streamOf(bytes("payload")), { mtime: t, size: 7 });
      if (b.copy) {
        const e = await b.copy("orig/a.txt", "dup/b.txt");
        assert.equal(e.size, 7);
        assert.deepEqual(await readAll(b, "dup/b.txt"), bytes("payload"));
        assert.deepEqual(await readAll(b, "orig/a.txt"), bytes("payload"));
        if (b.caps.modTime !== "remembered") {
          assert.ok(Math.abs((await b.stat("dup/b.txt"))!.mtime - t) < b.caps.timePrecision);
        }
        await assert.rejects(b.copy("missing.txt", "x.txt"));
      }
      if (b.setModTime && b.caps.modTime !== "remembered") {
        const later = t + 86_400_000;
        const before = (await b.stat("orig/a.txt"))!;
        const e = await b.setModTime("orig/a.txt", later);
        assert.ok(Math.abs(e.mtime - later) < b.caps.timePrecision);
        assert.ok(Math.abs((await b.stat("orig/a.txt"))!.mtime - later) < b.caps.timePrecision);
        assert.deepEqual(await readAll(b, "orig/a.txt"), bytes("payload"));
        if (before.stamp !== undefined) {
          assert.notEqual((await b.stat("orig/a.txt"))!.stamp, undefined);
        }
      }
    }));
}
