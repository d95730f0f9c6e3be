/**
 * The trash beyond the engine suite: a mirror's spread deletion, a retire that fails, the
 * trash kept out of listings and --max-delete, retention after a successful pass only,
 * --no-trash, and the CLI end to end with its bad inputs.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Backend } from "../../lib/backends/backend.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { silentSink } from "../../lib/execute/events.ts";
import { mirrorOnce } from "../../lib/mirror.ts";
import { StateStore } from "../../lib/state/store.ts";
import { syncOnce, type SyncOptions } from "../../lib/sync.ts";
import { listTrash } from "../../lib/trash/trash.ts";
import { restoreFromTrash } from "../../lib/trash/restore.ts";
import { runName, TRASH_DIR, trashKey } from "../../lib/trash/layout.ts";
import { wrapBackend } from "../_wrap.ts";
import { Recorder } from "../sync/engine_suite.ts";
import { ferry } from "../cli/_run.ts";

const T = Date.UTC(2026, 5, 1);

async function put(dir: string, key: string, text: string, mtime = T): Promise<void> {
  const p = join(dir, ...key.split("/"));
  await Deno.mkdir(join(p, ".."), { recursive: true });
  await Deno.writeTextFile(p, text);
  await Deno.utime(p, new Date(mtime), new Date(mtime));
}

async function text(dir: string, key: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(join(dir, ...key.split("/")));
  } catch {
    return undefined;
  }
}

/**
 * `src` and `dst` in step on a file and another, then the source changed: the first gone, the
 * second rewritten (a minute later), so that the next sync deletes one and overwrites the other.
 *
 * @param del The file to delete: its path and text.
 * @param upd The file to overwrite: its path, old text and new text.
 */
async function toDeleteAndOverwrite(
  root: string,
  del: [string, string],
  upd: [string, string, string],
) {
  const [s, d] = [join(root, "src"), join(root, "dst")];
  await put(s, ...del);
  await put(s, upd[0], upd[1]);
  const src = new LocalBackend(s);
  const dst = new LocalBackend(d);
  await sync(src, dst);
  await Deno.remove(join(s, del[0]));
  await put(s, upd[0], upd[2], T + 60_000);
  return { s, d, src, dst };
}

/** A scratch folder with `src` and `dst` (and whatever else a test makes), removed after. */
async function scratch(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "ferry-trash-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const sync = (src: Backend, dst: Backend, o: Partial<SyncOptions> = {}) =>
  syncOnce(src, dst, { sink: silentSink, delete: true, ...o });

Deno.test("mirror: a deletion spread to three members leaves a trash copy in each", async () => {
  await scratch(async (root) => {
    const dirs = ["a", "b", "c", "d"].map((n) => join(root, n));
    for (const d of dirs) await Deno.mkdir(d);
    const members = dirs.map((d) => new LocalBackend(d));
    const state = StateStore.open(":memory:");
    try {
      await put(dirs[0]!, "docs/x.txt", "precious");
      await put(dirs[0]!, "y.txt", "y");
      await mirrorOnce(members, { sink: silentSink, state });
      for (const d of dirs) assert.equal(await text(d, "docs/x.txt"), "precious");
      await Deno.remove(join(dirs[0]!, "docs", "x.txt"));
      const r = await mirrorOnce(members, { sink: silentSink, state });
      assert.equal(r.summary.deleted, 3);
      for (const [i, b] of members.entries()) {
        const kept = await listTrash(b);
        if (i === 0) assert.deepEqual(kept, [], "the member deleted by hand has no trash copy");
        else {
          assert.deepEqual(kept.map((k) => [k.path, k.why]), [["docs/x.txt", "deleted"]]);
          assert.equal(await text(dirs[i]!, kept[0]!.key), "precious");
        }
      }
      // Restored at one member, it is an ordinary change: the next mirror spreads it.
      await restoreFromTrash(members[2]!, "docs/x.txt");
      const back = await mirrorOnce(members, { sink: silentSink, state });
      assert.equal(back.summary.copied, 3);
      for (const d of dirs) assert.equal(await text(d, "docs/x.txt"), "precious");
    } finally {
      state.close();
    }
  });
});

Deno.test("a retire that fails keeps the file and fails the operation by name", async () => {
  await scratch(async (root) => {
    const { s, d, src, dst } = await toDeleteAndOverwrite(root, ["del.txt", "to delete"], [
      "upd.txt",
      "old",
      "new and longer",
    ]);
    // The trash cannot be made: a file stands where its folder would be.
    await Deno.writeTextFile(join(d, TRASH_DIR), "in the way");
    const rec = new Recorder();
    const r = await sync(src, dst, { sink: rec });
    assert.equal(r.summary.failed, 1, JSON.stringify(r.failures));
    assert.equal(r.summary.deleted, 0);
    assert.equal(await text(d, "upd.txt"), "old");
    assert.equal(await text(d, "del.txt"), "to delete");
    const fails = rec.of("fail") as { path: string; op: string; error: string }[];
    assert.deepEqual(fails.map((f) => [f.path, f.op]), [["upd.txt", "update"]]);
    assert.match(fails[0]!.error, /could not be kept in the trash/);
    // The failure held the deletion back; alone, the deletion fails by name too.
    await put(s, "upd.txt", "old", (await dst.stat("upd.txt"))!.mtime);
    const rec2 = new Recorder();
    const r2 = await sync(src, dst, { sink: rec2 });
    assert.equal(r2.summary.failed, 1);
    assert.deepEqual((rec2.of("fail") as { path: string }[]).map((f) => f.path), ["del.txt"]);
    assert.equal(await text(d, "del.txt"), "to delete");
  });
});

Deno.test("a retire that fails on a store fails the operation, the file left", async () => {
  const src = new MemoryBackend();
  const inner = new MemoryBackend();
  const refuse = () => Promise.reject(new Deno.errors.PermissionDenied("read-only trash"));
  // A trash it may not write to: no move or copy into it, no write below .ferry either.
  const dst = wrapBackend(inner, {
    move: refuse,
    copy: refuse,
    write: (key, data, meta) => key.startsWith(".ferry/") ? refuse() : inner.write(key, data, meta),
  });
  for (const k of ["a.txt", "b.txt"]) {
    await src.write(k, ReadableStream.from([new TextEncoder().encode("a")]), { mtime: T, size: 1 });
  }
  await sync(src, dst);
  await src.remove("a.txt");
  const r = await sync(src, dst);
  assert.equal(r.summary.failed, 1);
  assert.equal(r.failures[0]?.path, "a.txt");
  assert.ok(await inner.stat("a.txt"));
});

Deno.test("the trash is never content: not listed, not synced back, not counted by --max-delete", async () => {
  await scratch(async (root) => {
    const [s, d] = [join(root, "src"), join(root, "dst")];
    for (let i = 0; i < 4; i++) await put(s, `f${i}.txt`, `f${i}`);
    const src = new LocalBackend(s);
    const dst = new LocalBackend(d);
    await sync(src, dst);
    for (let i = 0; i < 2; i++) await Deno.remove(join(s, `f${i}.txt`));
    let r = await sync(src, dst, { maxDelete: { count: 2 } });
    assert.equal(r.summary.deleted, 2);
    assert.equal((await listTrash(dst)).length, 2);
    // One more deletion of the two files left: 50%, within the default, though the trash
    // holds two more files (counted, they would make it 25% of six, or refuse at count 1).
    await Deno.remove(join(s, "f2.txt"));
    r = await sync(src, dst, { maxDelete: { count: 1 } });
    assert.equal(r.summary.deleted, 1);
    const listed = (await dst.list()).entries.map((e) => e.key);
    assert.deepEqual(listed, ["f3.txt"]);
    assert.equal((await listTrash(dst)).length, 3);
    // Synced the other way, the trash does not travel.
    const back = new LocalBackend(join(root, "back"));
    await sync(dst, back);
    assert.deepEqual((await back.list()).entries.map((e) => e.key), ["f3.txt"]);
    assert.equal(await text(join(root, "back"), TRASH_DIR), undefined);
  });
});

Deno.test("--no-trash (trashDays 0) deletes and overwrites outright", async () => {
  await scratch(async (root) => {
    const { src, dst } = await toDeleteAndOverwrite(root, ["a.txt", "a"], ["b.txt", "b", "bb"]);
    const r = await sync(src, dst, { trashDays: 0 });
    assert.equal(r.summary.deleted + r.summary.updated, 2);
    assert.deepEqual(await listTrash(dst), []);
  });
});

Deno.test("expired trash goes at the end of a successful pass that kept something, not otherwise", async () => {
  await scratch(async (root) => {
    const [s, d] = [join(root, "src"), join(root, "dst")];
    // Runs are aged by the pass's own time (now).
    const old = runName(Date.now() - 40 * 86_400_000);
    const recent = runName(Date.now() - 10 * 86_400_000);
    await put(d, `${TRASH_DIR}/${old}/old.txt`, "old");
    await put(d, `${TRASH_DIR}/${recent}/recent.txt`, "recent");
    for (const k of ["a.txt", "b.txt", "c.txt"]) await put(s, k, k);
    const src = new LocalBackend(s);
    const dst = new LocalBackend(d);
    const runs = async () => [...new Set((await listTrash(dst)).map((i) => i.run))].sort();
    await sync(src, dst);
    // A no-op, and a pass that kept nothing, leave the trash alone.
    await sync(src, dst);
    assert.deepEqual(await runs(), [old, recent]);
    // A pass that failed keeps it too.
    await Deno.remove(join(s, "a.txt"));
    const faulty = wrapBackend(src, {
      read: () => Promise.reject(new Deno.errors.PermissionDenied("no")),
    });
    await put(s, "b.txt", "changed", T + 1000);
    const failed = await sync(faulty, dst);
    assert.equal(failed.summary.failed, 1);
    assert.deepEqual(await runs(), [old, recent]);
    // A successful pass that deletes drops the run older than 30 days, keeps the other.
    const r = await sync(src, dst);
    assert.equal(r.summary.failed, 0);
    const now = await runs();
    assert.equal(now.length, 2);
    assert.equal(now[0], recent);
    assert.equal(await text(d, `${TRASH_DIR}/${old}/old.txt`), undefined);
    // --trash-days 5: the 10-day-old run goes too; a size cap keeps the newest run only.
    await put(s, "c.txt", "c changed", T + 2000);
    await sync(src, dst, { trashDays: 5 });
    assert.ok(!(await runs()).includes(recent));
    await put(d, `${TRASH_DIR}/${runName(Date.now() - 1)}/big.txt`, "x".repeat(1000));
    await put(s, "c.txt", "c again", T + 3000);
    await sync(src, dst, { trashMax: { bytes: 100 } });
    const left = await listTrash(dst);
    assert.deepEqual(left.map((i) => i.path), ["c.txt"], JSON.stringify(left));
  });
});

Deno.test("ferry trash: list, restore --to the source, the next sync spreads it; bad inputs change nothing", async () => {
  await scratch(async (root) => {
    const [s, d] = [join(root, "src"), join(root, "dst")];
    await put(s, "docs/a.txt", "first");
    await put(s, "b.txt", "b");
    let r = await ferry(["sync", s, d, "-q"]);
    assert.equal(r.code, 0, r.stderr);
    await Deno.remove(join(s, "docs"), { recursive: true });
    await put(s, "b.txt", "b, second", T + 60_000);
    r = await ferry(["sync", s, d, "--delete", "--yes", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"event":"delete","path":"docs\/a.txt".*"trash":".ferry\/trash\//);
    r = await ferry(["trash", "list", d, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const items = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(items.map((i) => [i.path, i.why, i.size]), [
      ["b.txt", "overwritten", 1],
      ["docs/a.txt", "deleted", 5],
    ]);
    const tree = async () => (await listTrash(new LocalBackend(d))).map((i) => i.key);
    const before = await tree();
    // Bad inputs: one line on stderr, exit 2, nothing changed.
    for (
      const args of [
        ["trash", "restore", d, "nothing.txt"],
        ["trash", "restore", d, "*.md"],
        ["trash", "restore", d, "docs", "--from", "1999-01-01"],
        ["trash", "restore", join(root, "nowhere"), "docs"],
        ["trash", "list", `zip:${join(root, "src", "b.txt")}`],
        ["trash", "purge", d, "--older-than", "soon"],
        ["trash", "restore", d],
        ["trash", "empty", d],
      ]
    ) {
      r = await ferry(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    }
    assert.deepEqual(await tree(), before);
    assert.equal(await text(s, "docs/a.txt"), undefined);
    // A newer file is not replaced without --force.
    r = await ferry(["trash", "restore", d, "b.txt", "--to", s]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(await text(s, "b.txt"), "b, second");
    r = await ferry(["trash", "restore", d, "docs", "--to", s]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await text(s, "docs/a.txt"), "first");
    assert.equal((await Deno.stat(join(s, "docs", "a.txt"))).mtime?.getTime(), T);
    r = await ferry(["sync", s, d, "--delete", "--yes", "-q"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await text(d, "docs/a.txt"), "first");
    r = await ferry(["trash", "purge", d]);
    assert.equal(r.code, 0, r.stderr);
    r = await ferry(["trash", "list", d, "--json"]);
    assert.equal(r.stdout, "");
  });
});

Deno.test("an overwrite by move (as on FTP): a failed write puts the old version back; after a kill between, the next run writes the new one", async () => {
  const enc = new TextEncoder();
  const src = new MemoryBackend();
  const inner = new MemoryBackend();
  const write = (b: Backend, k: string, t: string, mtime: number) =>
    b.write(k, ReadableStream.from([enc.encode(t)]), { mtime, size: enc.encode(t).length });
  const read = async (k: string) =>
    (await inner.stat(k)) ? await new Response(await inner.read(k)).text() : undefined;
  let refuse = true;
  // Neither link nor copy: the old version is moved into the trash, then the new one written.
  const dst = wrapBackend(inner, {
    write: (k, d, m) =>
      refuse && k === "u.txt"
        ? Promise.reject(new Deno.errors.PermissionDenied("write refused"))
        : inner.write(k, d, m),
  });
  await write(src, "u.txt", "old", T);
  await write(src, "v.txt", "v", T);
  refuse = false;
  await sync(src, dst);
  refuse = true;
  await write(src, "u.txt", "new, longer", T + 60_000);
  const r = await sync(src, dst);
  assert.equal(r.summary.failed, 1);
  assert.equal(await read("u.txt"), "old");
  assert.deepEqual(await listTrash(inner), []);
  // Killed between the move and the write: the old version is in the trash, the path empty.
  const killed = trashKey(runName(Date.now() - 5), "u.txt");
  await inner.move("u.txt", killed);
  refuse = false;
  const again = await sync(src, dst);
  assert.equal(again.summary.failed, 0);
  assert.equal(await read("u.txt"), "new, longer");
  assert.equal(await read(killed), "old");
});
