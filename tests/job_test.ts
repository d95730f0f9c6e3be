import assert from "node:assert/strict";
import { join } from "node:path";
import { until } from "./_until.ts";
import type { Backend } from "../lib/backends/backend.ts";
import { LocalBackend } from "../lib/backends/local.ts";
import { MemoryBackend } from "../lib/backends/memory.ts";
import { SafetyError } from "../lib/errors.ts";
import type { SyncEvent } from "../lib/execute/events.ts";
import { Job, type PassOutcome, type WatchStart } from "../lib/job.ts";
import { mirror } from "../lib/mirror.ts";
import { oneWay } from "../lib/sync.ts";
import { StateStore } from "../lib/state/store.ts";
import { wrapBackend } from "./_wrap.ts";

const write = (b: MemoryBackend, k: string, text = k) =>
  b.write(k, ReadableStream.from([new TextEncoder().encode(text)]), {
    size: text.length,
    mtime: Date.now(),
  });

/** Wait for a condition, with a deadline (never a fixed sleep). */

Deno.test("Job: requests made during a pass are merged into one scoped pass after it; passes never overlap", async () => {
  const src = new MemoryBackend({ name: "src" });
  const dst = new MemoryBackend({ name: "dst" });
  for (const k of ["a/1", "b/1", "c/1"]) await write(src, k);
  const state = StateStore.open(":memory:");
  let listing = 0;
  let overlap = false;
  let release: () => void = () => {};
  let gate: Promise<void> | undefined;
  const scopes: (readonly string[] | undefined)[] = [];
  const slow: Backend = wrapBackend(src, {
    list: async (o) => {
      if (listing++ > 0) overlap = true;
      scopes.push(o?.under);
      try {
        const listed = await src.list(o);
        if (gate) await gate; // held after listing: what is written meanwhile is new to it
        return listed;
      } finally {
        listing--;
      }
    },
  });
  const stop = new AbortController();
  const outcomes: PassOutcome[] = [];
  const events: SyncEvent[] = [];
  const job = new Job([slow, dst], oneWay, {
    sink: { emit: (e) => void events.push(e) },
    state,
    interval: 3600,
    signal: stop.signal,
    afterPass: (o) => outcomes.push(o),
  });
  gate = new Promise((r) => release = r);
  const running = job.run();
  await until("the first pass lists", () => scopes.length === 1);
  // Three requests while the full pass is held up: they become one pass over "a" and "b".
  await write(src, "a/2");
  job.request(["a/2"]);
  job.request(["b"]);
  job.request(["a"]);
  gate = undefined;
  release();
  await until("the scoped pass", () => outcomes.length === 2);
  assert.deepEqual(scopes, [undefined, ["a", "b"]]);
  assert.equal(overlap, false);
  const second = outcomes[1]!;
  assert.equal(second.kind === "done" && second.result.summary.copied, 1);
  assert.equal((await dst.stat("a/2"))?.size, 3);
  // Every event names the job and every operation's event its location.
  const copy = events.find((e) => e.event === "copy")!;
  assert.equal(copy.job, job.key);
  assert.equal(copy.location, "dst");
  stop.abort();
  const last = await running;
  assert.equal(last?.kind, "done");
  state.close();
});

Deno.test("Job: a pass whose lock is held elsewhere is skipped, not run", async () => {
  const src = new MemoryBackend({ name: "src" });
  await write(src, "x");
  const dst = new MemoryBackend({ name: "dst" });
  const job = new Job([src, dst], oneWay, { sink: { emit() {} }, lock: () => undefined });
  assert.deepEqual(await job.run(), { kind: "locked" });
  assert.equal(await dst.stat("x"), undefined);
});

/** Two local folders under a temp dir (the second not made), and a way to read a file. */
async function folders() {
  const dir = await Deno.makeTempDir({ prefix: "ferry-job-watch-" });
  const read = (p: string) => {
    try {
      return Deno.readTextFileSync(p);
    } catch {
      return undefined;
    }
  };
  return { dir, a: join(dir, "a"), b: join(dir, "b"), read };
}

Deno.test("Job.watch: a mirror follows every member, one its first pass creates from then on; ferry's own writes wake no pass", async () => {
  const { dir, a, b, read } = await folders();
  Deno.mkdirSync(a);
  Deno.writeTextFileSync(join(a, "one.txt"), "1");
  const state = StateStore.open(":memory:");
  const stop = new AbortController();
  const notes: string[] = [];
  const outcomes: PassOutcome[] = [];
  const job = new Job([new LocalBackend(a), new LocalBackend(b)], mirror, {
    sink: { emit: (e) => e.event === "note" && e.level === "debug" && notes.push(e.message) },
    state,
    signal: stop.signal,
    afterPass: (o) => outcomes.push(o),
  });
  let started: WatchStart | undefined;
  const watching = job.watch({ poll: 1, started: (w) => started = w });
  try {
    await until("the first pass made b", () => read(join(b, "one.txt")) === "1");
    assert.deepEqual(started, { watched: 2, polled: 0, poll: 1, fullPass: 600 });
    // b did not exist when the watch began: its change is heard all the same.
    Deno.writeTextFileSync(join(b, "two.txt"), "2");
    await until("b's new file reaches a", () => read(join(a, "two.txt")) === "2");
    await until(
      "the echo of ferry's copy into a is recognised",
      () =>
        notes.some((n) =>
          n.startsWith("Not passed on, ferry's own changes: ") && n.includes(`${a}: two.txt`)
        ),
    );
    const handed = notes.filter((n) => n.startsWith("Changes: ")).join("\n");
    assert.ok(!handed.includes(`${a}: two.txt`), handed);
    assert.ok(handed.includes(`${b}: two.txt`), handed);
  } finally {
    stop.abort();
    await watching;
    for (const m of job.members) await m.close();
    state.close();
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(outcomes.length >= 2);
});

Deno.test("Job.watch: a sync follows its source only; after a refused pass, a whole pass every poll seconds until one goes through", async () => {
  const { dir, a, read } = await folders();
  Deno.mkdirSync(a);
  const dst = new MemoryBackend({ name: "dst" });
  for (const k of ["old.txt", "k1.txt", "k2.txt"]) await write(dst, k);
  const stop = new AbortController();
  const refused: unknown[] = [];
  let started: WatchStart | undefined;
  let through = 0;
  const job = new Job([new LocalBackend(a), dst], oneWay, {
    sink: { emit() {} },
    delete: true,
    signal: stop.signal,
    goOn: (err) => err instanceof SafetyError && refused.push(err) > 0,
    afterPass: (o) => void (o.kind === "done" && through++),
  });
  const watching = job.watch({ poll: 1, started: (w) => started = w });
  try {
    // An empty source would delete everything: refused, and tried again with no change made.
    await until("two refusals", () => refused.length >= 2);
    assert.deepEqual(started, { watched: 1, polled: 0, poll: 1, fullPass: 600 });
    // The source back (two of the three files): deleting one of three is under --max-delete.
    for (const k of ["k1.txt", "k2.txt"]) Deno.writeTextFileSync(join(a, k), "new");
    await until("a pass goes through", () => through > 0);
    assert.equal((await dst.stat("k1.txt"))?.size, 3);
    assert.equal(await dst.stat("old.txt"), undefined);
    assert.equal(read(join(a, "k2.txt")), "new");
  } finally {
    stop.abort();
    await watching;
    for (const m of job.members) await m.close();
    await Deno.remove(dir, { recursive: true });
  }
});
