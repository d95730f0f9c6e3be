/**
 * A local folder's identity survives a remount (a USB stick seen at another path), and a
 * copy of a folder is a location of its own.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalBackend } from "../../lib/backends/local.ts";
import { StateStore } from "../../lib/state/store.ts";
import { syncOnce } from "../../lib/sync.ts";
import { wrapBackend } from "../_wrap.ts";
import { Recorder } from "./engine_suite.ts";

async function put(root: string, rel: string, text: string) {
  const p = join(root, ...rel.split("/"));
  await Deno.mkdir(join(p, ".."), { recursive: true });
  await Deno.writeTextFile(p, text);
}

Deno.test("a folder seen at another path (a remounted stick) is the same location; its state follows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-identity-" });
  try {
    const src = join(dir, "src");
    for (let i = 0; i < 4; i++) await put(src, `docs/f${i}.txt`, `content ${i}`.repeat(50));
    const state = StateStore.open(join(dir, "state.db"));
    const first = new LocalBackend(join(dir, "media-a", "stick"));
    await Deno.mkdir(join(dir, "media-a"));
    await syncOnce(new LocalBackend(src), first, { sink: new Recorder(), state });
    assert.match(first.id, /^local:[0-9a-f-]{36}$/);
    // Unplugged, and plugged in again at another mount point.
    await Deno.mkdir(join(dir, "media-b"));
    await Deno.rename(join(dir, "media-a", "stick"), join(dir, "media-b", "stick"));
    const again = new LocalBackend(join(dir, "media-b", "stick"));
    await again.open("read");
    assert.equal(again.id, first.id);
    // The job's state is found: a rename in the source is a move (proved by inode, no content
    // read), not a copy.
    await Deno.rename(join(src, "docs"), join(src, "papers"));
    const noReads = wrapBackend(new LocalBackend(src), {
      read: () => Promise.reject(new Error("content was read")),
    });
    const r = await syncOnce(noReads, again, { sink: new Recorder(), state, delete: true });
    assert.deepEqual([r.summary.moved, r.summary.copied, r.summary.failed], [4, 0, 0]);
    state.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a copy of a folder (cp -r) carries the marker but is a location of its own", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-identity-" });
  try {
    const a = new LocalBackend(join(dir, "a"));
    await Deno.mkdir(a.root);
    await a.open("write");
    await put(a.root, "x.txt", "x");
    const copy = join(dir, "copy");
    const cp = await new Deno.Command("cp", { args: ["-r", a.root, copy] }).output();
    assert.ok(cp.success);
    const b = new LocalBackend(copy);
    await b.open("read");
    assert.equal(b.id, "file:" + copy, "read-only: named by its path");
    await b.open("write");
    assert.match(b.id, /^local:/);
    assert.notEqual(b.id, a.id);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("state kept under a folder's path id is carried over when its marker is made", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-identity-" });
  try {
    const src = join(dir, "src");
    const dst = join(dir, "dst");
    for (let i = 0; i < 3; i++) await put(src, `d/f${i}.txt`, `content ${i}`.repeat(50));
    const path = join(dir, "state.db");
    let state = StateStore.open(path);
    const d = new LocalBackend(dst);
    await syncOnce(new LocalBackend(src), d, { sink: new Recorder(), state });
    state.close();
    // As an older ferry left it: no marker, the state under the path.
    await Deno.remove(join(dst, ".ferry"), { recursive: true });
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(path);
    db.prepare("UPDATE locations SET name = ? WHERE name = ?").run("file:" + dst, d.id);
    db.prepare("UPDATE jobs SET key = replace(key, ?, ?)").run(d.id, "file:" + dst);
    db.close();
    state = StateStore.open(path);
    await Deno.rename(join(src, "d"), join(src, "e"));
    const noReads = wrapBackend(new LocalBackend(src), {
      read: () => Promise.reject(new Error("content was read")),
    });
    const after = new LocalBackend(dst);
    const r = await syncOnce(noReads, after, { sink: new Recorder(), state, delete: true });
    assert.notEqual(after.id, d.id, "a new marker");
    assert.deepEqual([r.summary.moved, r.summary.copied, r.summary.failed], [3, 0, 0]);
    state.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
