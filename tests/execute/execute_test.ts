import assert from "node:assert/strict";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import type { SyncEvent } from "../../lib/execute/events.ts";
import { execute } from "../../lib/execute/execute.ts";
import type { Plan } from "../../lib/plan/types.ts";
import { wrapBackend } from "../_wrap.ts";

const sink = (events: SyncEvent[]) => ({ emit: (e: SyncEvent) => void events.push(e) });

async function put(b: MemoryBackend, key: string, text: string, mtime = 1000) {
  const data = new TextEncoder().encode(text);
  await b.write(key, ReadableStream.from([data]), { size: data.length, mtime });
}

const text = async (b: MemoryBackend, key: string) => await new Response(await b.read(key)).text();

Deno.test("execute() runs steps in order over any number of members, each op at its member", async () => {
  const a = new MemoryBackend({ name: "a" });
  const b = new MemoryBackend({ name: "b" });
  const c = new MemoryBackend({ name: "c" });
  await put(a, "new.txt", "hello", 5000);
  await put(c, "old.txt", "12345", 1000);
  const plan: Pick<Plan, "steps"> = {
    steps: [
      // A rename at c first, then copies from a into b and c (c's copy lands on the old name's
      // successor only after the move made room).
      {
        name: "move",
        parallel: false,
        ops: [{
          op: "move",
          at: 2,
          kind: "file",
          from: "old.txt",
          to: "new.txt",
          size: 5,
          files: 1,
        }],
      },
      {
        name: "transfer",
        parallel: true,
        ops: [
          { op: "copy", at: 1, key: "new.txt", srcAt: 0, srcKey: "new.txt", size: 5, mtime: 5000 },
          {
            op: "update",
            at: 2,
            key: "new.txt",
            srcAt: 0,
            srcKey: "new.txt",
            size: 5,
            mtime: 5000,
            expect: { size: 5, mtime: 1000 },
          },
        ],
      },
    ],
  };
  const events: SyncEvent[] = [];
  const res = await execute(plan, [a, b, c], { concurrency: 4, sink: sink(events) });
  assert.equal(res.failed, 0);
  assert.equal(res.skipped, 0, JSON.stringify(res.outcomes));
  assert.equal(await text(b, "new.txt"), "hello");
  assert.equal(await text(c, "new.txt"), "hello");
  assert.equal(await c.stat("old.txt"), undefined);
  assert.deepEqual(events.filter((e) => e.event !== "progress").map((e) => e.event), [
    "move",
    "copy",
    "update",
  ]);
});

Deno.test("execute(): a guarded step does not run after a failure, and says so", async () => {
  const a = new MemoryBackend({ name: "a" });
  const b = new MemoryBackend({ name: "b" });
  await put(b, "keep.txt", "x");
  const plan: Pick<Plan, "steps"> = {
    steps: [
      {
        name: "transfer",
        parallel: true,
        ops: [{ op: "copy", at: 1, key: "m", srcAt: 0, srcKey: "missing", size: 1, mtime: 1 }],
      },
      {
        name: "delete",
        parallel: true,
        guarded: true,
        ops: [{ op: "delete", at: 1, key: "keep.txt", size: 1, expect: { size: 1, mtime: 1000 } }],
      },
    ],
  };
  const events: SyncEvent[] = [];
  const res = await execute(plan, [a, b], { concurrency: 2, sink: sink(events), retryDelay: 1 });
  assert.equal(res.failed, 1);
  assert.equal(res.deletesHeld, true);
  assert.equal(await text(b, "keep.txt"), "x");
});

Deno.test("execute(): a full disk fails the copy at once, not after retries", async () => {
  const a = new MemoryBackend({ name: "a" });
  await put(a, "f.txt", "hello");
  let writes = 0;
  const b = wrapBackend(new MemoryBackend({ name: "b" }), {
    write: () => {
      writes++;
      return Promise.reject(
        Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" }),
      );
    },
  });
  const plan: Pick<Plan, "steps"> = {
    steps: [{
      name: "transfer",
      parallel: true,
      ops: [{ op: "copy", at: 1, key: "f.txt", srcAt: 0, srcKey: "f.txt", size: 5, mtime: 1 }],
    }],
  };
  const events: SyncEvent[] = [];
  const res = await execute(plan, [a, b], { concurrency: 2, sink: sink(events), retryDelay: 1 });
  assert.equal(res.failed, 1);
  assert.equal(writes, 1);
  assert.ok(events.some((e) => e.event === "fail" && /No space left/.test(e.error)));
});

Deno.test("execute(): the bytes counted are those the destination holds, not those planned", async () => {
  const a = new MemoryBackend({ name: "a" });
  await put(a, "f.txt", "hello");
  const inner = new MemoryBackend({ name: "b" });
  // A store that kept fewer bytes than it was sent and said so in the entry it returned.
  const b = wrapBackend(inner, {
    write: async (k, d, m) => ({ ...await inner.write(k, d, m), size: 3 }),
  });
  const plan: Pick<Plan, "steps"> = {
    steps: [{
      name: "transfer",
      parallel: true,
      ops: [{ op: "copy", at: 1, key: "f.txt", srcAt: 0, srcKey: "f.txt", size: 5, mtime: 1 }],
    }],
  };
  const events: SyncEvent[] = [];
  const res = await execute(plan, [a, b], { concurrency: 2, sink: sink(events) });
  assert.equal(res.bytes, 3);
  assert.ok(events.some((e) => e.event === "copy" && e.bytes === 3));
});
