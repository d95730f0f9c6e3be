/**
 * The sync engine's tests, run unchanged against every backend pair that a test file gives.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Backend } from "../../lib/backends/backend.ts";
import { SafetyError } from "../../lib/errors.ts";
import type { EventSink, SyncEvent } from "../../lib/execute/events.ts";
import { StateStore } from "../../lib/state/store.ts";
import { jobKey, syncOnce, type SyncOptions } from "../../lib/sync.ts";
import { opsOf } from "../../lib/plan/types.ts";
import { wrapBackend } from "../_wrap.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { join } from "node:path";
import { until } from "../_until.ts";
import { listTrash } from "../../lib/trash/trash.ts";
import { restoreFromTrash } from "../../lib/trash/restore.ts";
import { runName } from "../../lib/trash/layout.ts";

/** A source and a destination, with direct ways to change them behind ferry's back. */
export interface EngineFixture {
  src: Backend;
  dst: Backend;
  put(side: "src" | "dst", key: string, text: string, mtime?: number): Promise<void>;
  read(side: "src" | "dst", key: string): Promise<string | undefined>;
  rename(side: "src" | "dst", from: string, to: string): Promise<void>;
  remove(side: "src" | "dst", key: string): Promise<void>;
  /**
   * False where `put` cannot give a file the time asked for (an FTP server that keeps only
   * when a file arrived): the tests that stage equal or older times on that side are skipped.
   */
  keepsTimes?(side: "src" | "dst"): boolean;
  /** Content bytes written into the destination so far, where the fixture can tell. */
  dstBytesWritten(): Promise<number | undefined>;
  cleanup(): Promise<void>;
}

/** Collects events, for assertions. */
export class Recorder implements EventSink {
  events: SyncEvent[] = [];
  emit(e: SyncEvent): void {
    this.events.push(e);
  }
  of(kind: SyncEvent["event"]): SyncEvent[] {
    return this.events.filter((e) => e.event === kind);
  }
}

async function files(b: Backend): Promise<string[]> {
  return (await b.list()).entries.filter((e) => e.kind === "file").map((e) => e.key).sort();
}

/**
 * Register the engine tests for one kind of pair.
 *
 * @param name Names the pair in test names.
 * @param make Creates a fresh pair: an existing empty source and a destination.
 */
export function engineSuite(name: string, make: () => Promise<EngineFixture>): void {
  const t = (title: string, fn: (fx: EngineFixture, state: StateStore) => Promise<void>) =>
    Deno.test(`sync (${name}): ${title}`, async () => {
      const fx = await make();
      const state = StateStore.open(":memory:");
      try {
        await fn(fx, state);
      } finally {
        state.close();
        await fx.cleanup();
      }
    });
  const run = (fx: EngineFixture, state: StateStore, opts: Partial<SyncOptions> = {}) =>
    syncOnce(fx.src, fx.dst, { sink: new Recorder(), state, ...opts });

  t("copies new files and folders and keeps their modification times", async (fx, state) => {
    await fx.put("src", "a.txt", "alpha", 1_500_000_000_000);
    await fx.put("src", "deep/er/b.txt", "beta", 1_500_000_001_000);
    await fx.src.mkdir("empty");
    const r = await run(fx, state);
    assert.equal(r.summary.copied, 2);
    assert.equal(r.summary.bytes, 9);
    assert.deepEqual(await files(fx.dst), ["a.txt", "deep/er/b.txt"]);
    assert.equal(await fx.read("dst", "deep/er/b.txt"), "beta");
    // A backend that keeps no times shows its own; ferry remembers the one it wrote. A source
    // that keeps none had no such time to give.
    if (fx.dst.caps.modTime !== "remembered" && fx.keepsTimes?.("src") !== false) {
      assert.equal((await fx.dst.stat("a.txt"))?.mtime, 1_500_000_000_000);
    }
    if (fx.src.caps.dirs && fx.dst.caps.dirs) {
      assert.equal((await fx.dst.stat("empty"))?.kind, "dir");
    }
  });

  t("a second run with nothing changed does nothing", async (fx, state) => {
    await fx.put("src", "a.txt", "alpha");
    await fx.put("src", "d/b.txt", "beta");
    await run(fx, state);
    const before = await fx.dstBytesWritten();
    const r = await run(fx, state, { delete: true });
    assert.deepEqual(
      { ...r.summary, seconds: 0 },
      {
        copied: 0,
        updated: 0,
        moved: 0,
        deleted: 0,
        conflicts: 0,
        skipped: 0,
        failed: 0,
        bytes: 0,
        seconds: 0,
      },
    );
    assert.equal(await fx.dstBytesWritten(), before);
  });

  t("a changed file is updated", async (fx, state) => {
    await fx.put("src", "a.txt", "one", 1_000_000);
    await run(fx, state);
    await fx.put("src", "a.txt", "two!", 2_000_000);
    const r = await run(fx, state);
    assert.equal(r.summary.updated, 1);
    assert.equal(await fx.read("dst", "a.txt"), "two!");
  });

  t(
    "files gone from the source are kept without --delete and removed with it",
    async (fx, state) => {
      await fx.put("src", "keep.txt", "k");
      await fx.put("src", "gone/x.txt", "x");
      await run(fx, state);
      await fx.remove("src", "gone/x.txt");
      await fx.src.rmdir("gone");
      let r = await run(fx, state);
      assert.equal(r.summary.deleted, 0);
      assert.deepEqual(await files(fx.dst), ["gone/x.txt", "keep.txt"]);
      r = await run(fx, state, { delete: true });
      assert.equal(r.summary.deleted, 1);
      assert.deepEqual(await files(fx.dst), ["keep.txt"]);
      assert.equal(await fx.dst.stat("gone"), undefined);
    },
  );

  t(
    "a file renamed and edited in one run lands with its new content (the move runs first)",
    async (fx, state) => {
      await fx.put("src", "x.txt", "a", 1_600_000_000_000);
      await fx.put("src", "keep.txt", "k");
      // An inode proves a rename only for a file born before the pass that recorded it: a
      // pass begun within the millisecond of the file's birth proves nothing (then the edited
      // file is copied anew, which is also right, but not what this case is about).
      const made = Date.now();
      await until("the clock has moved past the files' birth", () => Date.now() > made);
      await run(fx, state);
      await fx.rename("src", "x.txt", "y.txt");
      await fx.put("src", "y.txt", "a and more", 1_600_000_005_000);
      const r = await run(fx, state, { delete: true });
      assert.equal(r.summary.skipped, 0, JSON.stringify(r.failures));
      assert.equal(r.summary.failed, 0);
      assert.deepEqual(await files(fx.dst), ["keep.txt", "y.txt"]);
      assert.equal(await fx.read("dst", "y.txt"), "a and more");
      // The inode proves the rename only with the file's birth time; without it (that fast
      // path off) the edited file is copied anew under its new name, also right.
      if (fx.src.caps.inodes) {
        assert.deepEqual(
          [r.summary.moved, r.summary.updated, r.summary.copied, r.summary.deleted],
          fx.src.caps.fast?.birthTime ? [1, 1, 0, 0] : [0, 0, 1, 1],
        );
      }
    },
  );

  t("a renamed file is moved in the destination, no content sent", async (fx, state) => {
    await fx.put("src", "old name.txt", "content that must not travel twice");
    await fx.put("src", "other.txt", "o");
    await run(fx, state);
    const before = await fx.dstBytesWritten();
    await fx.rename("src", "old name.txt", "new name.txt");
    const r = await run(fx, state, { delete: true });
    assert.equal(r.summary.moved, 1);
    assert.equal(r.summary.copied + r.summary.updated + r.summary.deleted, 0);
    assert.deepEqual(await files(fx.dst), ["new name.txt", "other.txt"]);
    assert.equal(await fx.read("dst", "new name.txt"), "content that must not travel twice");
    assert.equal(await fx.dstBytesWritten(), before);
  });

  t("a renamed folder is one folder move in the destination", async (fx, state) => {
    for (let i = 0; i < 5; i++) await fx.put("src", `photos/2024/img${i}.jpg`, `image ${i}`);
    await run(fx, state);
    const before = await fx.dstBytesWritten();
    await fx.rename("src", "photos", "pictures");
    const rec = new Recorder();
    const r = await run(fx, state, { delete: true, sink: rec });
    assert.equal(r.summary.moved, 5);
    const moves = rec.of("move");
    assert.equal(moves.length, 1);
    assert.deepEqual(await files(fx.dst), [0, 1, 2, 3, 4].map((i) => `pictures/2024/img${i}.jpg`));
    assert.equal(await fx.dst.stat("photos"), undefined);
    assert.equal(await fx.dstBytesWritten(), before);
    // And the state followed the move: the next run is a no-op.
    const again = await run(fx, state, { delete: true });
    assert.equal(opsOf(again.plan).length, 0);
  });

  t("--exclude and .ferryignore keep paths out of copies and deletions", async (fx, state) => {
    await fx.put("src", ".ferryignore", "# comment\n*.tmp\nbuild/\n");
    await fx.put("src", "a.txt", "a");
    await fx.put("src", "x.tmp", "t");
    await fx.put("src", "build/out.o", "o");
    await fx.put("src", "cache/c.bin", "c");
    await fx.put("dst", "precious.tmp", "mine");
    await fx.put("dst", "cache/old.bin", "kept too");
    const r = await run(fx, state, { delete: true, exclude: ["cache/"], force: true });
    assert.equal(r.summary.deleted, 0);
    assert.deepEqual(await files(fx.dst), [
      ".ferryignore",
      "a.txt",
      "cache/old.bin",
      "precious.tmp",
    ]);
  });

  t("--max-delete refuses a run that deletes too much, --force overrides", async (fx, state) => {
    for (let i = 0; i < 4; i++) await fx.put("src", `f${i}`, "x");
    await run(fx, state);
    for (let i = 0; i < 3; i++) await fx.remove("src", `f${i}`);
    await assert.rejects(run(fx, state, { delete: true }), SafetyError);
    assert.equal((await files(fx.dst)).length, 4);
    await assert.rejects(
      run(fx, state, { delete: true, maxDelete: { count: 2 } }),
      /over --max-delete 2/,
    );
    const r = await run(fx, state, { delete: true, maxDelete: { count: 3 } });
    assert.equal(r.summary.deleted, 3);
  });

  t("an empty source never empties the destination without --force", async (fx, state) => {
    await fx.put("dst", "a", "1");
    await fx.put("dst", "b", "2");
    await assert.rejects(run(fx, state, { delete: true, maxDelete: { percent: 100 } }), /is empty/);
    assert.deepEqual(await files(fx.dst), ["a", "b"]);
  });

  t("--dry-run plans and changes nothing", async (fx, state) => {
    await fx.put("src", "new.txt", "n");
    await fx.put("dst", "old.txt", "o");
    const rec = new Recorder();
    const r = await run(fx, state, {
      dryRun: true,
      delete: true,
      maxDelete: { percent: 100 },
      sink: rec,
    });
    assert.equal(r.summary.copied, 1);
    assert.equal(r.summary.deleted, 1);
    assert.ok(rec.events.every((e) => !("dryRun" in e) || e.dryRun === true));
    assert.deepEqual(await files(fx.dst), ["old.txt"]);
    assert.equal(state.forJob(jobKey(fx.src, fx.dst)).count(fx.src.id), 0);
  });

  t("--checksum finds content that differs behind equal size and time", async (fx, state) => {
    if (fx.keepsTimes?.("src") === false) return; // equal times cannot be staged
    await fx.put("src", "a.txt", "AAAA", 1_000_000);
    await fx.put("dst", "a.txt", "BBBB", 1_000_000);
    let r = await run(fx, state);
    assert.equal(r.summary.updated, 0);
    r = await run(fx, state, { checksum: true });
    assert.equal(r.summary.updated, 1);
    assert.equal(await fx.read("dst", "a.txt"), "AAAA");
    // The hashes are cached: an unchanged pair needs no new hashing.
    r = await run(fx, state, { checksum: true });
    assert.equal(opsOf(r.plan).length, 0);
  });

  t(
    "--checksum on equal content with another time sets the time and sends nothing",
    async (fx, state) => {
      if (fx.keepsTimes?.("src") === false) return; // the source's time cannot be staged
      await fx.put("src", "a.txt", "same", 1_600_000_000_000);
      await fx.put("dst", "a.txt", "same", 1_500_000_000_000);
      const before = await fx.dstBytesWritten();
      const r = await run(fx, state, { checksum: true });
      assert.equal(r.summary.failed, 0, JSON.stringify(r.failures));
      if (fx.dst.setModTime && fx.dst.caps.modTime !== "remembered") {
        assert.equal(r.summary.updated, 1);
        assert.deepEqual(r.summary.bytes, 0);
        if (before !== undefined) {
          assert.equal(
            await fx.dstBytesWritten(),
            before,
            "no content sent",
          );
        }
        const e = await fx.dst.stat("a.txt");
        assert.ok(Math.abs(e!.mtime - 1_600_000_000_000) < fx.dst.caps.timePrecision);
      }
      // Either way a run without --checksum then finds nothing to do.
      const again = await run(fx, state);
      assert.equal(again.summary.updated + again.summary.copied, 0, JSON.stringify(again.summary));
      assert.equal(await fx.read("dst", "a.txt"), "same");
    },
  );

  t("losing the state is safe: nothing is re-sent and nothing is deleted", async (fx, state) => {
    await fx.put("src", "a.txt", "a");
    await fx.put("src", "b.txt", "b");
    await run(fx, state);
    const fresh = StateStore.open(":memory:");
    try {
      const before = await fx.dstBytesWritten();
      const r = await syncOnce(fx.src, fx.dst, {
        sink: new Recorder(),
        state: fresh,
        delete: true,
      });
      assert.equal(opsOf(r.plan).length, 0);
      assert.equal(await fx.dstBytesWritten(), before);
      assert.equal(fresh.forJob(jobKey(fx.src, fx.dst)).count(fx.src.id), 2);
    } finally {
      fresh.close();
    }
  });

  t("a missing source root is refused and a missing destination is created", async (fx, state) => {
    // Object stores have no root to be missing: a prefix exists once it holds something.
    if (fx.dst.caps.dirs) assert.equal(await fx.dst.rootExists(), false);
    await fx.put("src", "a.txt", "a");
    const r = await run(fx, state);
    assert.equal(r.summary.copied, 1);
    assert.equal(await fx.dst.rootExists(), true);
    const gone = wrapBackend(fx.src, { rootExists: () => Promise.resolve(false) });
    await assert.rejects(
      syncOnce(gone, fx.dst, { sink: new Recorder(), state, delete: true, force: true }),
      (err: unknown) => err instanceof SafetyError && /does not exist/.test(err.message),
    );
    assert.deepEqual(await files(fx.dst), ["a.txt"]);
  });

  t("a destination file changed after the scan is not overwritten", async (fx, state) => {
    await fx.put("src", "a.txt", "v1", 1_000_000);
    await run(fx, state);
    await fx.put("src", "a.txt", "v2 from source", 2_000_000);
    // A person edits the destination file between the scan and the update.
    let edited = false;
    const dst = wrapBackend(fx.dst, {
      stat: async (key: string) => {
        if (!edited && key === "a.txt") {
          edited = true;
          await fx.put("dst", "a.txt", "edited by a person", 3_000_000);
        }
        return await fx.dst.stat(key);
      },
    });
    const r = await syncOnce(fx.src, dst, { sink: new Recorder(), state });
    assert.equal(edited, true);
    assert.equal(r.summary.updated, 0);
    assert.equal(r.summary.skipped, 1);
    assert.equal(await fx.read("dst", "a.txt"), "edited by a person");
  });

  t("a failed read is counted, the run goes on, and deletions are held back", async (fx, state) => {
    await fx.put("src", "good.txt", "g");
    await fx.put("src", "bad.txt", "b");
    await fx.put("dst", "orphan.txt", "o");
    await fx.put("dst", "orphan2.txt", "o2");
    const faulty = wrapBackend(fx.src, {
      read: (key: string) =>
        key === "bad.txt"
          ? Promise.reject(new Deno.errors.PermissionDenied("Permission denied"))
          : fx.src.read(key),
    });
    const r = await syncOnce(faulty, fx.dst, {
      sink: new Recorder(),
      state,
      delete: true,
      force: true,
    });
    assert.equal(r.summary.failed, 1);
    assert.equal(r.summary.copied, 1);
    assert.equal(r.deletesHeld, true);
    assert.deepEqual(await files(fx.dst), ["good.txt", "orphan.txt", "orphan2.txt"]);
    assert.equal(r.failures[0]?.path, "bad.txt");
  });

  t(
    "a deletion and an overwrite leave the old versions in the trash, and restore brings them back",
    async (fx, state) => {
      const T1 = 1_500_000_000_000;
      await fx.put("src", "keep.txt", "keep", T1);
      await fx.put("src", "gone/d.txt", "old d", T1);
      await fx.put("src", "u.txt", "old u", T1);
      await run(fx, state);
      await fx.remove("src", "gone/d.txt");
      await fx.put("src", "u.txt", "new u, longer", T1 + 60_000);
      // A run kept 40 days ago: expired at the end of the pass.
      const expired = `.ferry/trash/${runName(Date.now() - 40 * 86_400_000)}/x/expired.txt`;
      await fx.put("dst", expired, "expired", T1);
      const rec = new Recorder();
      const r = await run(fx, state, { delete: true, sink: rec });
      assert.equal(r.summary.deleted, 1);
      assert.equal(r.summary.updated, 1);
      assert.equal(await fx.read("dst", "u.txt"), "new u, longer");
      // Kept in the destination's trash, never content.
      await fx.dst.open("write");
      const kept = await listTrash(fx.dst);
      assert.deepEqual(kept.map((i) => [i.path, i.why, i.size]), [
        ["gone/d.txt", "deleted", 5],
        ["u.txt", "overwritten", 5],
      ]);
      assert.deepEqual(await files(fx.dst), ["keep.txt", "u.txt"]);
      const events = [...rec.of("delete"), ...rec.of("update")] as { trash?: string }[];
      assert.deepEqual(events.map((e) => e.trash).sort(), kept.map((i) => i.key));
      // Back into the source (the overwritten one over its newer version), with its bytes and
      // time; the next pass spreads both.
      // (Where a side keeps no times of its own, the times compared are the server's.)
      const timed = fx.keepsTimes?.("src") !== false && fx.keepsTimes?.("dst") !== false &&
        fx.src.caps.modTime !== "remembered" && fx.dst.caps.modTime !== "remembered";
      await fx.src.open("write");
      await restoreFromTrash(fx.dst, "gone/d.txt", { to: fx.src });
      if (timed) {
        await assert.rejects(restoreFromTrash(fx.dst, "u.txt", { to: fx.src }), SafetyError);
      }
      await restoreFromTrash(fx.dst, "u.txt", { to: fx.src, force: true });
      fx.src.endPass?.();
      fx.dst.endPass?.();
      assert.equal(await fx.read("src", "gone/d.txt"), "old d");
      assert.equal(await fx.read("src", "u.txt"), "old u");
      if (timed) assert.equal((await fx.src.stat("gone/d.txt"))?.mtime, T1);
      await run(fx, state, { delete: true });
      assert.equal(await fx.read("dst", "gone/d.txt"), "old d");
      assert.equal(await fx.read("dst", "u.txt"), "old u");
    },
  );
}

/** A backend's count of content bytes written, read and reset by the fixture. */
export interface WriteCounter {
  get(b: Backend): number | undefined;
  set(b: Backend, n: number): void;
}

/** The counters the backends keep: `bytesWritten` (FTP, ZIP, memory), `bytesUploaded` (S3). */
type Counted = { bytesWritten?: number; bytesUploaded?: number };

/** Reads and resets whichever counter a backend keeps (none for a local folder). */
export const backendCounter: WriteCounter = {
  get: (b) => (b as Counted).bytesWritten ?? (b as Counted).bytesUploaded,
  set(b, n) {
    const c = b as Counted;
    if (c.bytesWritten !== undefined) c.bytesWritten = n;
    if (c.bytesUploaded !== undefined) c.bytesUploaded = n;
  },
};

/**
 * A fixture over two backends: a local side is changed in place (as an editor does: the inode
 * stays, so renames stay provable), any other side through the backend itself, with the bytes
 * of those setup writes not counted as ferry's.
 *
 * @param src The source.
 * @param dst The destination.
 * @param root A scratch folder removed at cleanup.
 * @param counter How the sides count the bytes written.
 * @returns The fixture.
 */
export function backendFixture(
  src: Backend,
  dst: Backend,
  root: string,
  counter: WriteCounter,
): EngineFixture {
  const side = (s: "src" | "dst") => (s === "src" ? src : dst);
  return {
    src,
    dst,
    async put(s, key, text, mtime = Date.now()) {
      const b = side(s);
      if (b instanceof LocalBackend) {
        const p = join(b.root, ...key.split("/"));
        await Deno.mkdir(join(p, ".."), { recursive: true });
        await Deno.writeTextFile(p, text);
        await Deno.utime(p, new Date(mtime), new Date(mtime));
        return;
      }
      if (!(await b.rootExists())) await b.createRoot();
      await b.open("write");
      const data = new TextEncoder().encode(text);
      const before = counter.get(b);
      await b.write(key, ReadableStream.from([data]), { mtime, size: data.length });
      if (before !== undefined) counter.set(b, before); // setup writes are not ferry's
    },
    async read(s, key) {
      const b = side(s);
      if (!(await b.rootExists())) return undefined;
      await b.open("read");
      if ((await b.stat(key))?.kind !== "file") return undefined;
      return await new Response(await b.read(key)).text();
    },
    rename: (s, from, to) => side(s).move!(from, to),
    remove: (s, key) => side(s).remove(key),
    dstBytesWritten: () => Promise.resolve(counter.get(dst)),
    async cleanup() {
      await src.close();
      await dst.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}
