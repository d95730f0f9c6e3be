import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalBackend } from "../../lib/backends/local.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { silentSink, type SyncEvent } from "../../lib/execute/events.ts";
import { confirmDeletes, type ExecResult, execute } from "../../lib/execute/execute.ts";
import { type Op, opsOf, type Plan } from "../../lib/plan/types.ts";
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

Deno.test("execute(): under holdDeletes, guarded steps run up to the first that deletes, and nothing after it", async () => {
  const a = new MemoryBackend({ name: "a" });
  const b = new MemoryBackend({ name: "b" });
  await put(a, "f.txt", "hello");
  await put(b, "keep.txt", "x");
  const copy = (key: string): Op => ({
    op: "copy",
    at: 1,
    key,
    srcAt: 0,
    srcKey: "f.txt",
    size: 5,
    mtime: 1,
  });
  const plan: Pick<Plan, "steps"> = {
    steps: [
      // Guarded, no deletion: runs (a mirror's overwrite of a version kept as a conflict copy).
      { name: "overwrite", parallel: false, guarded: true, ops: [copy("kept.txt")] },
      {
        name: "delete",
        parallel: true,
        guarded: true,
        ops: [{ op: "delete", at: 1, key: "keep.txt", size: 1, expect: { size: 1, mtime: 1000 } }],
      },
      // Not guarded, but after the stop: not run either.
      { name: "after", parallel: false, ops: [copy("after.txt")] },
    ],
  };
  const events: SyncEvent[] = [];
  const res = await execute(plan, [a, b], {
    concurrency: 2,
    sink: sink(events),
    holdDeletes: true,
  });
  assert.equal(res.failed, 0);
  assert.equal(res.deletesHeld, true);
  assert.equal(await text(b, "kept.txt"), "hello");
  assert.equal(await text(b, "keep.txt"), "x");
  assert.equal(await b.stat("after.txt"), undefined);
  assert.ok(events.some((e) => e.event === "note" && /1 deletion\(s\) held back/.test(e.message)));
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

/**
 * Each outcome names one of the plan's own operations (the state matches them by identity),
 * each operation at most once.
 */
function assertOwnOps(plan: Pick<Plan, "steps">, res: ExecResult): void {
  const ops = new Set<Op>(opsOf(plan));
  const named = res.outcomes.map((o) => o.op);
  assert.ok(named.every((op) => ops.has(op)), "an outcome names a copy of a planned operation");
  assert.equal(new Set(named).size, named.length, "an operation has two outcomes");
}

Deno.test("execute(): every outcome's op is the plan's own object, on the pool path and the bulk path", async () => {
  const a = new MemoryBackend({ name: "a" });
  const b = new MemoryBackend({ name: "b" });
  await put(a, "f.txt", "hello");
  await put(b, "gone.txt", "x");
  const plan: Pick<Plan, "steps"> = {
    steps: [
      { name: "mkdir", parallel: false, ops: [{ op: "mkdir", at: 1, key: "d" }] },
      {
        name: "transfer",
        parallel: true,
        ops: [
          { op: "copy", at: 1, key: "f.txt", srcAt: 0, srcKey: "f.txt", size: 5, mtime: 1 },
          // Fails (no such source): a failed outcome names the planned operation too.
          { op: "copy", at: 1, key: "m.txt", srcAt: 0, srcKey: "missing", size: 1, mtime: 1 },
        ],
      },
      {
        name: "delete",
        parallel: true,
        ops: [{ op: "delete", at: 1, key: "gone.txt", size: 1, expect: { size: 1, mtime: 1000 } }],
      },
    ],
  };
  const res = await execute(plan, [a, b], { concurrency: 2, sink: silentSink, retryDelay: 1 });
  assert.deepEqual(res.outcomes.map((o) => o.status).sort(), ["done", "done", "done", "failed"]);
  assertOwnOps(plan, res);

  // Two local folders: the copies go to the copy Workers in bulk, and are reported one by one.
  const dir = await Deno.makeTempDir({ prefix: "ferry-exec-" });
  try {
    await Deno.mkdir(join(dir, "src"));
    await Deno.mkdir(join(dir, "dst"));
    const ops: Op[] = [];
    for (let i = 0; i < 80; i++) {
      await Deno.writeTextFile(join(dir, "src", `f${i}.txt`), "12345");
      const k = `f${i}.txt`;
      ops.push({ op: "copy", at: 1, key: k, srcAt: 0, srcKey: k, size: 5, mtime: 1000 });
    }
    const local = { steps: [{ name: "transfer", parallel: true, ops }] };
    const members = [new LocalBackend(join(dir, "src")), new LocalBackend(join(dir, "dst"))];
    const bulk = await execute(local, members, { concurrency: 4, sink: silentSink });
    assert.equal(bulk.failed, 0, JSON.stringify(bulk.outcomes.filter((o) => o.message)));
    assert.equal(bulk.outcomes.length, 80);
    assertOwnOps(local, bulk);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("confirmDeletes(): a plan without its deletions keeps the plan's own operations", async () => {
  const copy: Op = { op: "copy", at: 1, key: "a", srcAt: 0, srcKey: "a", size: 1, mtime: 1 };
  const del: Op = { op: "delete", at: 1, key: "b", size: 1, expect: { size: 1, mtime: 1 } };
  const plan: Plan = {
    steps: [
      { name: "transfer", parallel: true, ops: [copy] },
      { name: "delete", parallel: true, guarded: true, ops: [del] },
    ],
    conflicts: [],
    destFiles: 1,
  };
  const declined = await confirmDeletes(plan, () => Promise.resolve(false), silentSink);
  const ops = opsOf(declined);
  assert.equal(ops.length, 1);
  assert.ok(ops[0] === copy, "the copy is the plan's own object");
});
