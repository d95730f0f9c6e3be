import assert from "node:assert/strict";
import { until } from "./_until.ts";
import type { Backend } from "../lib/backends/backend.ts";
import { MemoryBackend } from "../lib/backends/memory.ts";
import type { SyncEvent } from "../lib/execute/events.ts";
import { Job, type PassOutcome } from "../lib/job.ts";
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
