/**
 * The watcher's traps, each with events made by the test: a burst of 10,000 changes, duplicate
 * events, a rename as an unpaired half, a `rescan` flag, ferry's own writes, paths the job
 * leaves out, the inotify limit when the watch is made and a watcher that dies later (both fall
 * back to polling, with a warning, never an exit). Then a local folder's own watch, on real
 * events.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Backend } from "../lib/backends/backend.ts";
import { LocalBackend } from "../lib/backends/local.ts";
import type { FsWatch } from "../lib/backends/local/watch.ts";
import { MemoryBackend } from "../lib/backends/memory.ts";
import type { SyncEvent } from "../lib/execute/events.ts";
import { startWatching, type WatchOptions } from "../lib/watch.ts";
import { until } from "./_until.ts";
import { loadFilter } from "../lib/scan/filter.ts";

/** A stand-in for `Deno.watchFs`: events are pushed by the test. */
class FakeWatcher implements AsyncIterable<Deno.FsEvent> {
  #queue: Deno.FsEvent[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #error: Error | undefined;
  push(e: Deno.FsEvent): void {
    this.#queue.push(e);
    this.#wake?.();
  }
  fail(err: Error): void {
    this.#error = err;
    this.#wake?.();
  }
  close(): void {
    this.#closed = true;
    this.#wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Deno.FsEvent> {
    for (let i = 0; i < 1_000_000; i++) {
      while (this.#queue.length > 0) yield this.#queue.shift()!;
      if (this.#error) throw this.#error;
      if (this.#closed) return;
      await new Promise<void>((r) => this.#wake = r);
    }
  }
}

/** A job that records what it was asked for. */
function recorder() {
  const asked: (readonly string[] | undefined)[] = [];
  return { asked, request: (scope?: readonly string[]) => void asked.push(scope) };
}

/**
 * A watcher of the folder `root` (a local member whose `Deno.watchFs` is the test's, unless
 * `member` is given), handing its scopes to a recorder.
 */
function setup(
  root: string,
  more: Partial<WatchOptions> & { watchFs?: FsWatch; member?: Backend } = {},
) {
  const fake = new FakeWatcher();
  const job = recorder();
  const notes: string[] = [];
  const abort = new AbortController();
  const { watchFs, member, ...rest } = more;
  const w = startWatching(job, {
    members: [member ?? new LocalBackend(root, { watchFs: watchFs ?? (() => fake) })],
    follow: [0],
    sink: { emit: (e: SyncEvent) => e.event === "note" && notes.push(e.message) },
    signal: abort.signal,
    ...rest,
  });
  const ev = (kind: Deno.FsEvent["kind"], ...rel: string[]): Deno.FsEvent => ({
    kind,
    paths: rel.map((r) => join(root, r)),
  });
  return { fake, job, notes, w, ev, stop: () => abort.abort() };
}

Deno.test("watch: a burst of 10,000 changes is handed over as a few batches, crowded folders as the folder", async () => {
  const t = setup("/data");
  try {
    for (let i = 0; i < 10_000; i++) t.fake.push(t.ev("modify", `busy/f${i}.txt`));
    for (let i = 0; i < 10; i++) t.fake.push(t.ev("create", `quiet/q${i}.txt`));
    await until(
      "every event is taken and handed over",
      () => t.w.received === 10_010 && t.w.settled,
    );
    assert.ok(t.job.asked.length <= 3, `${t.job.asked.length} batches`);
    const keys = t.job.asked.flatMap((s) => s ?? ["(all)"]);
    assert.ok(keys.includes("busy"), "200+ changes in one folder: the folder");
    for (let i = 0; i < 10; i++) assert.ok(keys.includes(`quiet/q${i}.txt`));
    assert.ok(keys.length < 50);
  } finally {
    t.stop();
  }
});

Deno.test("watch: duplicate events are one change; an unpaired rename half is a change of that path; a rescan flag asks for everything", async () => {
  const t = setup("/data");
  try {
    for (let i = 0; i < 5; i++) t.fake.push(t.ev("modify", "a.txt"));
    await until("one batch", () => t.job.asked.length === 1);
    assert.deepEqual(t.job.asked[0], ["a.txt"]);
    // A file moved out of the tree: only its old name is reported.
    t.fake.push(t.ev("rename", "gone.txt"));
    await until("the half", () => t.job.asked.length === 2);
    assert.deepEqual(t.job.asked[1], ["gone.txt"]);
    // Both halves in one event, and ferry's own names, which are never changes.
    t.fake.push(t.ev("rename", "x/old.txt", "x/new.txt"));
    t.fake.push(t.ev("create", "x/.ferry-tmp-abc"));
    t.fake.push(t.ev("create", ".ferry/state.db"));
    t.fake.push(t.ev("modify", "x/.ferry/state.db-wal", "deep/er/.ferry"));
    await until("the pair", () => t.job.asked.length === 3);
    assert.deepEqual([...t.job.asked[2]!].sort(), ["x/new.txt", "x/old.txt"]);
    t.fake.push({ kind: "other", paths: [], flag: "rescan" });
    await until("the rescan", () => t.job.asked.length === 4);
    assert.equal(t.job.asked[3], undefined, "a whole pass");
  } finally {
    t.stop();
  }
});

Deno.test("watch: ferry's own writes are not changes, unless the file changed again since", async () => {
  const root = await Deno.makeTempDir({ prefix: "ferry-watch-" });
  const t = setup(root);
  try {
    const p = join(root, "copied.txt");
    Deno.writeTextFileSync(p, "abc");
    const st = Deno.statSync(p);
    t.w.wrote([
      { at: 0, key: "copied.txt", size: 3, mtime: st.mtime!.getTime() },
      { at: 0, key: "removed.txt", present: false },
    ]);
    t.fake.push(t.ev("create", "copied.txt"));
    t.fake.push(t.ev("remove", "removed.txt"));
    t.fake.push(t.ev("create", "theirs.txt"));
    await until("a batch", () => t.job.asked.length === 1);
    assert.deepEqual(t.job.asked[0], ["theirs.txt"]);
    // Edited again by someone after ferry wrote it: a change.
    t.w.wrote([{ at: 0, key: "copied.txt", size: 3, mtime: st.mtime!.getTime() }]);
    Deno.writeTextFileSync(p, "abcd");
    t.fake.push(t.ev("modify", "copied.txt"));
    await until("the edit", () => t.job.asked.length === 2);
    assert.deepEqual(t.job.asked[1], ["copied.txt"]);
  } finally {
    t.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("watch: a change to what the job leaves out (an --exclude, ferry's own state file) wakes nothing", async () => {
  const skip = (await loadFilter(["*.tmp", "/state.db", "/state.db-wal"]))!;
  const t = setup("/data", { exclude: skip });
  try {
    t.fake.push(t.ev("modify", "state.db", "state.db-wal", "a/b.tmp"));
    t.fake.push(t.ev("modify", "notes.txt"));
    await until("a batch", () => t.job.asked.length === 1 && t.w.settled);
    assert.deepEqual(t.job.asked[0], ["notes.txt"]);
    t.fake.push(t.ev("modify", "state.db-wal"));
    t.fake.push(t.ev("modify", "late.txt"));
    await until("a second batch", () => t.job.asked.length === 2 && t.w.settled);
    assert.deepEqual(t.job.asked[1], ["late.txt"], "the state file's event did not come along");
  } finally {
    t.stop();
  }
});

Deno.test("watch: past the inotify limit, or when the watcher dies, the folder is polled with a warning", async () => {
  const limit = setup("/data", {
    poll: 1,
    watchFs: () => {
      throw new Error("Too many open files: inotify watch limit reached (os error 28)");
    },
  });
  try {
    assert.match(
      limit.notes.join("\n"),
      /Cannot watch "\/data" \(.*os error 28.*\): looking at it every 1 s/,
    );
    await until("a poll", () => limit.job.asked.length >= 1, 3_000);
    assert.equal(limit.job.asked[0], undefined, "a poll is a whole pass");
  } finally {
    limit.stop();
  }
  const dies = setup("/data", { poll: 1 });
  try {
    dies.fake.fail(new Error("watcher lost"));
    await until("the warning", () => dies.notes.some((n) => n.includes("watcher lost")));
    await until("a poll", () => dies.job.asked.length >= 1, 3_000);
  } finally {
    dies.stop();
  }
});

Deno.test("watch: a --poll past the timer's limit (24.9 days) waits, instead of polling every millisecond", async () => {
  // --poll 3153600000 (a century) on an FTP source gave 1,315 listings in 6 s. A member that
  // cannot be watched (as an FTP source) is polled.
  const t = setup("/data", { poll: 3_153_600_000, member: new MemoryBackend({ name: "ftp" }) });
  try {
    // A timer given more than 2^31-1 ms fires after 1 ms: after a few turns of the event loop
    // the broken poll would have asked for passes.
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(t.job.asked, []);
  } finally {
    t.stop();
  }
});

Deno.test("LocalBackend.watch: a change below the root comes as its key, ferry's own names never; a missing folder throws at once; the signal ends it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-watch-" });
  const stop = new AbortController();
  try {
    assert.throws(() => new LocalBackend(join(dir, "missing")).watch(stop.signal));
    // The folder is there before the watch begins: a folder made after it is reported by its
    // own key, and a file written into it at once may come before the OS watches it (a busy
    // machine shows it), which a scope of the folder's key covers.
    Deno.mkdirSync(join(dir, "sub"));
    const seen: (readonly string[] | "rescan")[] = [];
    const changes = new LocalBackend(dir).watch(stop.signal);
    const reading = (async () => {
      for await (const c of changes) seen.push(c);
    })();
    Deno.mkdirSync(join(dir, ".ferry"));
    Deno.writeTextFileSync(join(dir, ".ferry", "state.db"), "s");
    Deno.writeTextFileSync(join(dir, "sub", "x.txt"), "x");
    const keys = () => seen.flatMap((c) => c === "rescan" ? [] : c);
    await until("the file's key", () => keys().includes("sub/x.txt"));
    assert.deepEqual(keys().filter((k) => k.startsWith(".ferry")), []);
    stop.abort();
    await reading;
  } finally {
    stop.abort();
    await Deno.remove(dir, { recursive: true });
  }
});
