/**
 * The defects of the trust issue, each as a test that failed before its fix: numbered as in
 * the issue (D1 … D20, and D22 found since), local folders and in-process only (S3 ones are in s3_defects_test.ts,
 * signals and prompts in signals_test.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalBackend } from "../../lib/backends/local.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { RunError } from "../../lib/errors.ts";
import { StateStore } from "../../lib/state/store.ts";
import { syncOnce } from "../../lib/sync.ts";
import { sleep } from "../../lib/util/timer.ts";
import { DatabaseSync } from "node:sqlite";
import { ferry, listFiles, running, scratch } from "../cli/_run.ts";
import { until } from "../_until.ts";
import { Recorder } from "../sync/engine_suite.ts";
import { wrapBackend } from "../_wrap.ts";
import { skipUnless } from "../_skips.ts";

const enc = new TextEncoder();

async function put(root: string, rel: string, text: string, mtimeMs?: number): Promise<void> {
  const p = join(root, ...rel.split("/"));
  await Deno.mkdir(join(p, ".."), { recursive: true });
  await Deno.writeTextFile(p, text);
  if (mtimeMs !== undefined) await Deno.utime(p, mtimeMs / 1000, mtimeMs / 1000);
}

Deno.test("D1: a file that got a deleted file's inode is copied, never taken for its rename", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-d1-" });
  try {
    const src = join(dir, "src");
    const dst = join(dir, "dst");
    // Two files with the same size and time (as `tar x` or `cp -p` leave them).
    await put(src, "old.txt", "AAAA", 1_600_000_000_000);
    const state = StateStore.open(":memory:");
    await syncOnce(new LocalBackend(src), new LocalBackend(dst), { sink: new Recorder(), state });
    const oldIno = Deno.statSync(join(src, "old.txt")).ino!;
    const oldDev = Deno.statSync(join(src, "old.txt")).dev!;
    await Deno.remove(join(src, "old.txt"));
    await put(src, "new.txt", "BBBB", 1_600_000_000_000);
    // ext4 hands a freed inode out again at once: the listing shows the new file with it.
    const reused = wrapBackend(new LocalBackend(src), {
      list: async (o) => {
        const l = await new LocalBackend(src).list(o);
        for (const e of l.entries) {
          if (e.key === "new.txt") Object.assign(e, { ino: oldIno, dev: oldDev });
        }
        return l;
      },
    });
    const rec = new Recorder();
    const r = await syncOnce(reused, new LocalBackend(dst), {
      sink: rec,
      state,
      delete: true,
      force: true,
    });
    state.close();
    assert.equal(r.summary.moved, 0, "not a rename");
    assert.equal(r.summary.copied, 1);
    assert.equal(await Deno.readTextFile(join(dst, "new.txt")), "BBBB");
    assert.deepEqual(listFiles(dst), ["new.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Whether this run may loop-mount an ext4 image (root, mount and mkfs.ext4 present). */
async function canLoopMount(): Promise<boolean> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", "command -v mkfs.ext4 && command -v mount && losetup -f"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "D1: on a real ext4 (loop-mounted image) a reused inode never puts one file's content under another name",
  ignore: skipUnless(
    await canLoopMount(),
    import.meta.url,
    "no ext4 image can be loop-mounted: mkfs.ext4 and losetup, as root on Linux",
  ),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ferry-d1x-" });
    const mnt = join(dir, "mnt");
    const sh = async (cmd: string) => {
      const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
      if (!out.success) throw new Error(`${cmd}: ${new TextDecoder().decode(out.stderr)}`);
    };
    await Deno.mkdir(mnt);
    await sh(`truncate -s 16M '${dir}/img' && mkfs.ext4 -q -F '${dir}/img'`);
    await sh(`mount -o loop '${dir}/img' '${mnt}'`);
    try {
      const src = join(mnt, "src");
      const dst = join(dir, "dst");
      for (let i = 0; i < 20; i++) await put(src, `f${i}.txt`, `old ${i}`.padEnd(12), 1.6e12);
      let r = await ferry(["sync", src, dst, "-q"]);
      assert.equal(r.code, 0, r.stderr);
      const inodes = new Map<number, string>();
      for (let i = 0; i < 20; i++) inodes.set(Deno.statSync(join(src, `f${i}.txt`)).ino!, `f${i}`);
      // Delete and create: the new files take the freed inodes (same size, same time).
      for (let i = 0; i < 20; i++) await Deno.remove(join(src, `f${i}.txt`));
      for (let i = 0; i < 20; i++) await put(src, `g${i}.txt`, `new ${i}`.padEnd(12), 1.6e12);
      const reusedCount = [...Array(20).keys()]
        .filter((i) => inodes.has(Deno.statSync(join(src, `g${i}.txt`)).ino!)).length;
      assert.ok(reusedCount > 0, "the image reuses inodes");
      r = await ferry(["sync", src, dst, "--delete", "--force", "-q"]);
      assert.equal(r.code, 0, r.stderr);
      for (let i = 0; i < 20; i++) {
        assert.equal(await Deno.readTextFile(join(dst, `g${i}.txt`)), `new ${i}`.padEnd(12));
      }
      assert.deepEqual(listFiles(dst), listFiles(src));
    } finally {
      await sh(`umount '${mnt}'`).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("D4: --checksum reads local content anew: an edit that kept size and time, a replica corrupted in place", async () => {
  const s = await scratch({ "a.txt": "hello", "b.txt": "world" });
  try {
    let r = await ferry(["sync", s.src, s.dst, "--checksum", "-q"]);
    assert.equal(r.code, 0, r.stderr);
    const keep = async (p: string, text: string) => {
      const st = Deno.statSync(p);
      await Deno.writeTextFile(p, text);
      await Deno.utime(p, st.atime!, st.mtime!);
    };
    await keep(join(s.src, "a.txt"), "HELLO"); // same size, same time
    await keep(join(s.dst, "b.txt"), "w0rld"); // bit rot in the replica
    r = await ferry(["check", s.src, s.dst]);
    assert.equal(r.code, 1, "check finds both");
    assert.match(r.stdout, /differ: a\.txt/);
    assert.match(r.stdout, /differ: b\.txt/);
    r = await ferry(["sync", s.src, s.dst, "--checksum", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1)!).updated, 2);
    assert.equal(await Deno.readTextFile(join(s.dst, "a.txt")), "HELLO");
    assert.equal(await Deno.readTextFile(join(s.dst, "b.txt")), "world");
    r = await ferry(["check", s.src, s.dst, "--json"]);
    assert.equal(r.code, 0, r.stdout);
    const sum = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual([sum.compared, sum.differ, sum.missing, sum.extra], [2, 0, 0, 0]);
    // Missing and extra files are reported too, and check changes nothing.
    await Deno.writeTextFile(join(s.dst, "extra.txt"), "x");
    await Deno.remove(join(s.dst, "a.txt"));
    r = await ferry(["check", s.src, s.dst]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /missing: a\.txt/);
    assert.match(r.stdout, /extra: extra\.txt/);
    assert.deepEqual(listFiles(s.dst), ["b.txt", "extra.txt"]);
  } finally {
    await s.cleanup();
  }
});

Deno.test({
  name:
    "D5: names that differ only in Unicode normalisation, and names that are not UTF-8, fail (exit 1) and the run converges",
  ignore: skipUnless(Deno.build.os === "linux", import.meta.url, "Linux only"),
  fn: async () => {
    const s = await scratch({});
    try {
      await Deno.writeTextFile(join(s.src, "caf\u00e9.txt"), "nfc");
      await Deno.writeTextFile(join(s.src, "cafe\u0301.txt"), "nfd");
      await new Deno.Command("sh", { args: ["-c", `touch "${s.src}/bad$(printf '\\377')name"`] })
        .output();
      let r = await ferry(["sync", s.src, s.dst, "--json"]);
      assert.equal(r.code, 1, r.stderr);
      let sum = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      assert.equal(sum.failed, 2);
      assert.equal(sum.copied, 1);
      assert.match(r.stdout, /another Unicode normal form/);
      assert.match(r.stdout, /not UTF-8/);
      assert.equal(await Deno.readTextFile(join(s.dst, "caf\u00e9.txt")), "nfc");
      // The next run copies nothing again and still says what is not backed up.
      r = await ferry(["sync", s.src, s.dst, "--json"]);
      assert.equal(r.code, 1);
      sum = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      assert.deepEqual([sum.copied, sum.updated, sum.failed], [0, 0, 2]);
    } finally {
      await s.cleanup();
    }
  },
});

Deno.test("D6: no deletion runs in a pass where a source folder could not be listed", async () => {
  const src = new MemoryBackend({ name: "src" });
  const dst = new MemoryBackend({ name: "dst" });
  const w = (b: MemoryBackend, k: string) =>
    b.write(k, ReadableStream.from([enc.encode(k)]), { size: k.length, mtime: 1e12 });
  await w(src, "locked/a.txt");
  await w(src, "keep.txt");
  await w(dst, "keep.txt");
  await w(dst, "extra.txt");
  const locked = wrapBackend(src, {
    list: async (o) => {
      const l = await src.list(o);
      l.entries = l.entries.filter((e) => !e.key.startsWith("locked"));
      l.problems.push({ key: "locked", message: "permission denied" });
      return l;
    },
  });
  const rec = new Recorder();
  const r = await syncOnce(locked, dst, { sink: rec, delete: true, force: true });
  assert.equal(r.deletesHeld, true);
  assert.equal(r.summary.deleted, 0);
  assert.ok(await dst.stat("extra.txt"), "extra.txt is kept");
  assert.equal(r.summary.failed, 1);
});

Deno.test("D9/D17: a listing that fails mid-run is a failed run (exit 1), not bad input", async () => {
  const src = new MemoryBackend({ name: "src" });
  const failing = wrapBackend(new MemoryBackend({ name: "dst" }), {
    list: () => Promise.reject(new Error("SlowDown: please reduce your request rate")),
  });
  await assert.rejects(
    syncOnce(src, failing, { sink: new Recorder() }),
    (err) => err instanceof RunError && err.exitCode === 1 && /Cannot list/.test(err.message),
  );
});

Deno.test("D9: a transfer whose stream fails part-way is tried again and lands whole", async () => {
  const src = new MemoryBackend({ name: "src", caps: { inodes: false } });
  const dst = new MemoryBackend({ name: "dst" });
  const body = enc.encode("x".repeat(100_000));
  await src.write("f.bin", ReadableStream.from([body]), { size: body.length, mtime: 1e12 });
  let reads = 0;
  // Cut short twice: the body ends early with an error, as a dropped connection does.
  const flaky = wrapBackend(src, {
    read: async (k) => {
      if (++reads > 2) return await src.read(k);
      return new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(body.subarray(0, 1000));
          c.error(new Error("socket hang up"));
        },
      });
    },
  });
  const r = await syncOnce(flaky, dst, { sink: new Recorder(), retryDelay: 1 });
  assert.equal(r.summary.failed, 0, JSON.stringify(r.failures));
  assert.equal(r.summary.copied, 1);
  assert.equal(reads, 3);
  const got = new Uint8Array(await new Response(await dst.read("f.bin")).arrayBuffer());
  assert.equal(got.length, body.length);
});

Deno.test("D9: when the other end is gone, the run stops with one line instead of one per file", async () => {
  const src = new MemoryBackend({ name: "src" });
  for (let i = 0; i < 50; i++) {
    await src.write(`f${i}`, ReadableStream.from([enc.encode("x")]), { size: 1, mtime: 1e12 });
  }
  const gone = wrapBackend(new MemoryBackend({ name: "dst" }), {
    write: () => {
      const e = new Error("connect ECONNREFUSED 127.0.0.1:9");
      (e as { code?: string }).code = "ECONNREFUSED";
      return Promise.reject(e);
    },
  });
  const rec = new Recorder();
  const r = await syncOnce(src, gone, { sink: rec, concurrency: 1 });
  assert.equal(r.summary.failed, 50, "every file is counted as failed");
  assert.ok(rec.of("fail").length <= 3, `${rec.of("fail").length} fail lines`);
  assert.ok(r.failures.some((f) => /not attempted/.test(f.path)));
});

Deno.test("D11: an --interval past the timer's limit waits, instead of looping every millisecond", async () => {
  const stop = new AbortController();
  let done = false;
  const waiting = sleep(2_147_484 * 1000, stop.signal).then(() => done = true);
  // A timer given more than 2^31-1 ms fires at once: after a few turns of the event loop the
  // broken wait would be over.
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(done, false);
  stop.abort();
  await waiting;
  assert.equal(done, true);
});

Deno.test("D13: a destination inside the source through a symbolic link is refused, nothing made", async () => {
  const s = await scratch({ "a.txt": "a" });
  try {
    await Deno.symlink(s.src, join(s.dir, "link"));
    const r = await ferry(["sync", s.src, join(s.dir, "link", "backup")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nested/);
    assert.deepEqual(listFiles(s.src), ["a.txt"]);
    // A source (reached through a link elsewhere) that lies inside its destination, with
    // --delete --force: refused, the source kept.
    const alias = await Deno.makeTempDir({ prefix: "ferry-alias-" });
    try {
      await Deno.symlink(s.src, join(alias, "docs"));
      const r2 = await ferry(["sync", join(alias, "docs"), s.dir, "--delete", "--force"]);
      assert.equal(r2.code, 2);
      assert.match(r2.stderr, /nested/);
    } finally {
      await Deno.remove(alias, { recursive: true });
    }
    assert.deepEqual(listFiles(s.src), ["a.txt"]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("D14: a destination whose parent is missing (unplugged stick) is refused with exit 3, nothing made", async () => {
  const s = await scratch({ "a.txt": "a" });
  try {
    const r = await ferry(["sync", s.src, join(s.dir, "media", "usb", "backup")]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /unplugged/);
    assert.throws(() => Deno.statSync(join(s.dir, "media")), Deno.errors.NotFound);
    // The last component alone is created.
    const r2 = await ferry(["sync", s.src, join(s.dir, "backup"), "-q"]);
    assert.equal(r2.code, 0, r2.stderr);
  } finally {
    await s.cleanup();
  }
});

Deno.test("D17: the source deleted during an --interval job is the missing-source refusal, each pass, and the job goes on", async () => {
  // (Before the periodic job outlived a refusal, this ended the run with exit 3.)
  const s = await scratch({ "a.txt": "a" });
  try {
    const log = join(s.dir, "job.log");
    const job = running(["sync", s.src, s.dst, "--interval", "1", "--log-file", log]);
    let code: number | undefined;
    try {
      await until("the first pass", () => {
        try {
          return Deno.readTextFileSync(join(s.dst, "a.txt")) === "a";
        } catch {
          return false;
        }
      });
      await Deno.remove(s.src, { recursive: true });
      const refusals = () => job.stderr().split("this pass is skipped").length - 1;
      await until("two passes refused", () => refusals() >= 2);
    } finally {
      code = await job.stop();
    }
    const stderr = job.stderr();
    assert.equal(code, 130, stderr);
    assert.match(stderr, /does not exist/);
    assert.doesNotMatch(stderr, /ENOENT|state\.db\.lock/);
    assert.match(await Deno.readTextFile(log), /does not exist/);
    assert.throws(() => Deno.statSync(s.src), Deno.errors.NotFound, "the source is not made again");
    assert.deepEqual(listFiles(s.dst), ["a.txt"], "nothing deleted");
  } finally {
    await s.cleanup();
  }
});

Deno.test("D17: an unwritable --log-file is refused before anything is synced (exit 2)", async () => {
  const s = await scratch({ "a.txt": "a" });
  try {
    await Deno.mkdir(join(s.dir, "logdir"));
    const r = await ferry(["sync", s.src, s.dst, "--log-file", join(s.src, "a.txt", "x.log")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Cannot write the log file/);
    assert.throws(() => Deno.statSync(s.dst), Deno.errors.NotFound, "nothing synced");
  } finally {
    await s.cleanup();
  }
});

Deno.test("D18: no arguments is exit 2; --json gives a summary after an error and marks a dry run", async () => {
  const s = await scratch({ "a.txt": "a" });
  try {
    let r = await ferry([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: ferry/);
    r = await ferry(["sync", join(s.dir, "nope"), s.dst, "--json"]);
    assert.equal(r.code, 3);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.at(-1).event, "summary");
    assert.equal(lines.some((l) => l.event === "error"), true);
    r = await ferry(["sync", s.src, s.dst, "--dry-run", "--json"]);
    assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1)!).dryRun, true);
    r = await ferry(["sync", s.src, s.dst, "--interval", "-5"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--interval takes a whole number/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("D19: a run that changes nothing writes no log file", async () => {
  const s = await scratch({ "a.txt": "a" });
  try {
    assert.equal((await ferry(["sync", s.src, s.dst, "-q"])).code, 0);
    const logs = () => [...Deno.readDirSync(join(s.src, ".ferry", "logs"))].length;
    assert.equal(logs(), 1);
    assert.equal((await ferry(["sync", s.src, s.dst, "-q"])).code, 0);
    assert.equal(logs(), 1, "the no-op wrote none");
  } finally {
    await s.cleanup();
  }
});

Deno.test("D22: without --delete, a destination file the job never placed is not taken for a renamed source file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-d22-" });
  try {
    const src = join(dir, "src");
    const dst = join(dir, "dst");
    await put(src, "notes.txt", "notes");
    // The user's own file in the backup (the only copy), and another job's: equal content to
    // files that are new in the source.
    await put(dst, "old/report.pdf", "the report");
    await put(dst, "other-job/photo.jpg", "a photo");
    await put(src, "report-final.pdf", "the report");
    await put(src, "photo.jpg", "a photo");
    const state = StateStore.open(":memory:");
    for (const withState of [false, true]) {
      const r = await syncOnce(new LocalBackend(src), new LocalBackend(dst), {
        sink: new Recorder(),
        ...(withState ? { state } : {}),
      });
      assert.equal(r.summary.moved, 0, `state: ${withState}`);
    }
    assert.deepEqual(listFiles(dst), [
      "notes.txt",
      "old/report.pdf",
      "other-job/photo.jpg",
      "photo.jpg",
      "report-final.pdf",
    ]);
    assert.equal(await Deno.readTextFile(join(dst, "old/report.pdf")), "the report");
    // A file this job placed is still followed when the source renames it: a move.
    await Deno.rename(join(src, "notes.txt"), join(src, "notes-2026.txt"));
    const r = await syncOnce(new LocalBackend(src), new LocalBackend(dst), {
      sink: new Recorder(),
      state,
    });
    assert.equal(r.summary.moved, 1);
    assert.ok(!listFiles(dst).includes("notes.txt"));
    state.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two jobs sharing a source (A -> B, A -> C) keep their own state: both move and update", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-twojobs-" });
  try {
    const a = join(dir, "A");
    await put(a, "x.txt", "first", 1_600_000_000_000);
    for (let i = 0; i < 3; i++) await put(a, `keep${i}.txt`, "k");
    const state = StateStore.open(join(dir, "state.db"));
    const to = (d: string) => new LocalBackend(join(dir, d));
    for (const d of ["B", "C"]) {
      await syncOnce(new LocalBackend(a), to(d), { sink: new Recorder(), state });
    }
    await Deno.rename(join(a, "x.txt"), join(a, "y.txt"));
    await put(a, "y.txt", "first, edited", 1_600_000_009_000);
    for (const d of ["B", "C"]) {
      // Before, the second job found the first's rows rewritten: a mass deletion (exit 3).
      const r = await syncOnce(new LocalBackend(a), to(d), {
        sink: new Recorder(),
        state,
        delete: true,
      });
      assert.deepEqual([r.summary.moved, r.summary.updated, r.summary.copied], [1, 1, 0], d);
      assert.equal(await Deno.readTextFile(join(dir, d, "y.txt")), "first, edited");
      assert.deepEqual(listFiles(join(dir, d)), ["keep0.txt", "keep1.txt", "keep2.txt", "y.txt"]);
    }
    state.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Rewrite a schema 4 database as schema 3 kept it: one `files` table of rows per location name
 * (`job␟location` for a job's rows; with `perLocation`, the location's own name, as before
 * jobs), hashes inline.
 */
function rewriteAsV3(path: string, perLocation: boolean): void {
  const db = new DatabaseSync(path);
  db.exec(`
    CREATE TABLE v3l (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, files INTEGER);
    INSERT INTO v3l (name, files)
      SELECT ${perLocation ? "l.name" : "j.key || char(31) || l.name"}, m.files
      FROM members m JOIN jobs j ON j.id = m.job JOIN locations l ON l.id = m.loc;
    CREATE TABLE v3f (
      loc INTEGER NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL,
      ino INTEGER NOT NULL DEFAULT 0, dev INTEGER NOT NULL DEFAULT 0, sha256 TEXT,
      synced_at INTEGER NOT NULL DEFAULT 0, etag TEXT, PRIMARY KEY (loc, path)) WITHOUT ROWID;
    INSERT INTO v3f SELECT v.id, h.path, h.size, h.mtime, h.ino, h.dev, s.sha256, h.synced_at, h.stamp
      FROM holds h JOIN jobs j ON j.id = h.job JOIN locations l ON l.id = h.loc
      JOIN v3l v ON v.name = ${perLocation ? "l.name" : "j.key || char(31) || l.name"}
      LEFT JOIN seen s ON s.loc = h.loc AND s.path = h.path;
    DROP TABLE holds; DROP TABLE seen; DROP TABLE agreed; DROP TABLE members; DROP TABLE jobs;
    DROP TABLE locations;
    ALTER TABLE v3l RENAME TO locations; ALTER TABLE v3f RENAME TO files;
    PRAGMA user_version = 3;
  `);
  db.close();
}

for (const perLocation of [false, true]) {
  Deno.test(
    `a schema 3 state (rows kept per ${
      perLocation ? "location" : "job"
    }) is upgraded: after a rename nothing is read or copied`,
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "ferry-adopt-" });
      try {
        const src = join(dir, "src");
        const dst = join(dir, "dst");
        for (let i = 0; i < 5; i++) await put(src, `d/f${i}.bin`, `content ${i}`.repeat(100));
        const path = join(dir, "state.db");
        let state = StateStore.open(path);
        await syncOnce(new LocalBackend(src), new LocalBackend(dst), {
          sink: new Recorder(),
          state,
        });
        state.close();
        rewriteAsV3(path, perLocation);
        state = StateStore.open(path);
        await Deno.rename(join(src, "d"), join(src, "renamed"));
        const noReads = wrapBackend(new LocalBackend(src), {
          read: () => Promise.reject(new Error("content was read")),
        });
        const r = await syncOnce(noReads, new LocalBackend(dst), {
          sink: new Recorder(),
          state,
          delete: true,
        });
        state.close();
        assert.equal(r.summary.failed, 0, JSON.stringify(r.failures));
        assert.deepEqual([r.summary.moved, r.summary.copied, r.summary.updated], [5, 0, 0]);
        const db = new DatabaseSync(path);
        const v = db.prepare("PRAGMA user_version").get() as { user_version: number };
        db.close();
        assert.equal(v.user_version, 4);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}
