/**
 * Scoped passes (what `--watch` runs): only the given subtrees are listed and changed, every
 * other state row stays as it was, and the guards count the whole job.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalBackend } from "../../lib/backends/local.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import type { Backend } from "../../lib/backends/backend.ts";
import { SafetyError } from "../../lib/errors.ts";
import { StateStore } from "../../lib/state/store.ts";
import { jobKey, syncOnce } from "../../lib/sync.ts";
import { wrapBackend } from "../_wrap.ts";
import { Recorder } from "./engine_suite.ts";

async function put(root: string, rel: string, text: string, mtime = 1_600_000_000_000) {
  const p = join(root, ...rel.split("/"));
  await Deno.mkdir(join(p, ".."), { recursive: true });
  await Deno.writeTextFile(p, text);
  await Deno.utime(p, mtime / 1000, mtime / 1000);
}

const rowsOf = (state: StateStore, src: Backend, dst: Backend, loc: Backend) =>
  JSON.stringify([...state.forJob(jobKey(src, dst)).rows(loc.id)].sort());

Deno.test("a pass scoped to one folder changes only that folder; every other state row stays", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-scope-" });
  try {
    const a = join(dir, "a");
    const b = join(dir, "b");
    for (const f of ["one/x.txt", "one/y.txt", "two/z.txt", "two/deep/w.txt", "top.txt"]) {
      await put(a, f, f);
    }
    const src = new LocalBackend(a);
    const dst = new LocalBackend(b);
    const state = StateStore.open(":memory:");
    await syncOnce(src, dst, { sink: new Recorder(), state, delete: true });
    const before = rowsOf(state, src, dst, src);
    // Changes in both folders; the pass is scoped to "one" only.
    await put(a, "one/x.txt", "changed x", 1_700_000_000_000);
    await Deno.remove(join(a, "one", "y.txt"));
    await put(a, "one/new.txt", "new");
    await put(a, "two/z.txt", "changed z, outside the scope", 1_700_000_000_000);
    await Deno.remove(join(a, "top.txt"));
    // The listing must not touch what lies outside the scope.
    const listed: string[][] = [];
    const spy = wrapBackend(src, {
      list: (o) => {
        listed.push([...(o?.under ?? ["(all)"])]);
        return src.list(o);
      },
    });
    const r = await syncOnce(spy, dst, {
      sink: new Recorder(),
      state,
      delete: true,
      scope: ["one"],
    });
    assert.deepEqual(listed, [["one"]]);
    assert.deepEqual(
      [r.summary.copied, r.summary.updated, r.summary.deleted, r.summary.failed],
      [1, 1, 1, 0],
    );
    assert.equal(await Deno.readTextFile(join(b, "one", "x.txt")), "changed x");
    assert.equal(
      await Deno.readTextFile(join(b, "two", "z.txt")),
      "two/z.txt",
      "outside: as it was",
    );
    assert.equal(await Deno.readTextFile(join(b, "top.txt")), "top.txt", "outside: not deleted");
    // Rows outside the scope are exactly as they were; inside they follow the changes.
    const after = new Map(state.forJob(jobKey(src, dst)).rows(src.id));
    const old = new Map(JSON.parse(before) as [string, unknown][]);
    for (const k of ["two/z.txt", "two/deep/w.txt", "top.txt"]) {
      assert.deepEqual(after.get(k), old.get(k), k);
    }
    assert.deepEqual(
      [...after.keys()].filter((k) => k.startsWith("one/")).sort(),
      ["one/new.txt", "one/x.txt"],
    );
    // A full pass then does what the scope left out, and nothing twice.
    const full = await syncOnce(src, dst, { sink: new Recorder(), state, delete: true });
    assert.deepEqual([full.summary.copied, full.summary.updated, full.summary.deleted], [0, 1, 1]);
    state.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a scoped pass over a folder emptied on purpose is not an empty source; the guards count the job", async () => {
  const src = new MemoryBackend({ name: "src" });
  const dst = new MemoryBackend({ name: "dst" });
  const write = (k: string) =>
    src.write(k, ReadableStream.from([new TextEncoder().encode(k)]), {
      size: k.length,
      mtime: 1e12,
    });
  for (let i = 0; i < 10; i++) await write(`keep/${i}.txt`);
  for (let i = 0; i < 3; i++) await write(`gone/${i}.txt`);
  const state = StateStore.open(":memory:");
  await syncOnce(src, dst, { sink: new Recorder(), state, delete: true });
  for (let i = 0; i < 3; i++) await src.remove(`gone/${i}.txt`);
  await src.rmdir("gone");
  // Everything in the scope is gone, but 10 of 13 files remain in the job: 3 deletions (23%)
  // are under the default --max-delete of 50%.
  const r = await syncOnce(src, dst, {
    sink: new Recorder(),
    state,
    delete: true,
    scope: ["gone"],
  });
  assert.equal(r.summary.deleted, 3);
  assert.equal(await dst.stat("gone/0.txt"), undefined);
  assert.equal((await dst.stat("keep/0.txt"))?.size, 10);
  // --max-delete counts the whole destination too: 3 of 10 is over a limit of 20%.
  for (let i = 0; i < 3; i++) await src.remove(`keep/${i}.txt`);
  await assert.rejects(
    syncOnce(src, dst, {
      sink: new Recorder(),
      state,
      delete: true,
      scope: ["keep"],
      maxDelete: { percent: 20 },
    }),
    (e) => e instanceof SafetyError && /3 of 10 file/.test(e.message),
  );
  // And an emptied whole source is still refused, scope or not.
  for (let i = 3; i < 10; i++) await src.remove(`keep/${i}.txt`);
  await assert.rejects(
    syncOnce(src, dst, { sink: new Recorder(), state, delete: true, scope: ["keep"] }),
    (e) => e instanceof SafetyError && /is empty/.test(e.message),
  );
  state.close();
});
