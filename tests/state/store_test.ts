import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type StateRow, StateStore } from "../../lib/state/store.ts";

const row = (path: string, extra: Partial<StateRow> = {}): StateRow => ({
  path,
  size: 1,
  mtime: 2,
  ino: 3,
  dev: 4,
  sha256: null,
  etag: null,
  syncedAt: 5,
  ...extra,
});

Deno.test("StateStore keeps rows per location and applies changes in one transaction", () => {
  const s = StateStore.open(":memory:");
  try {
    s.apply([
      {
        loc: "A",
        upserts: [row("x"), row("dir/y"), row("dir/sub/z"), row("🚀 d/é.txt")],
        deletes: [],
      },
      { loc: "B", upserts: [row("x")], deletes: [] },
    ]);
    assert.equal(s.count("A"), 4);
    assert.equal(s.count("B"), 1);
    s.apply([{
      loc: "A",
      upserts: [row("x", { size: 9 })],
      deletes: ["dir/y"],
      dirMoves: [{ from: "dir", to: "moved" }],
    }]);
    assert.deepEqual([...s.rows("A").keys()].sort(), ["moved/sub/z", "x", "🚀 d/é.txt"]);
    s.apply([{ loc: "A", upserts: [], deletes: [], dirMoves: [{ from: "🚀 d", to: "rocket" }] }]);
    assert.equal(s.rows("A").has("rocket/é.txt"), true);
    assert.equal(s.rows("A").get("x")?.size, 9);
    assert.equal(s.count("A"), 3, "the kept count follows deletes and folder moves");
    // A folder moved onto one that has rows replaces them: the count follows.
    s.apply([{ loc: "A", upserts: [row("p/1"), row("q/1"), row("q/2")], deletes: [] }]);
    assert.equal(s.count("A"), 6);
    s.apply([{ loc: "A", upserts: [], deletes: [], dirMoves: [{ from: "q", to: "p" }] }]);
    assert.equal(s.count("A"), 5);
    s.apply([{ loc: "A", upserts: [row("only")], deletes: [], replaceAll: true }]);
    assert.equal(s.count("A"), 1);
    // A failing batch changes nothing.
    assert.throws(() =>
      s.apply([{
        loc: "A",
        upserts: [row("ok"), { ...row("bad"), size: null as unknown as number }],
        deletes: [],
      }])
    );
    assert.equal(s.rows("A").has("ok"), false);
    assert.equal(s.count("A"), 1, "a rolled-back batch leaves the count alone");
  } finally {
    s.close();
  }
});

Deno.test("StateStore.open() creates folders, survives reopening and refuses a newer schema", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "nested", "state.db");
    const s = StateStore.open(path);
    s.apply([{ loc: "A", upserts: [row("x", { sha256: "ab" })], deletes: [] }]);
    s.close();
    const again = StateStore.open(path);
    assert.equal(again.rows("A").get("x")?.sha256, "ab");
    again.close();
    const db = new DatabaseSync(path);
    db.exec("PRAGMA user_version = 99");
    db.close();
    assert.throws(() => StateStore.open(path), /newer ferry/);
    // A version 1 database (no etag, no row count) is migrated in place, rows kept.
    const v1 = new DatabaseSync(path);
    v1.exec(
      "PRAGMA user_version = 1; ALTER TABLE files DROP COLUMN etag; ALTER TABLE locations DROP COLUMN files;",
    );
    v1.close();
    const migrated = StateStore.open(path);
    assert.equal(migrated.rows("A").get("x")?.sha256, "ab");
    assert.equal(migrated.rows("A").get("x")?.etag, null);
    assert.equal(migrated.count("A"), 1, "a migrated store counts rows it has no count for");
    migrated.apply([{ loc: "A", upserts: [row("y")], deletes: [] }]);
    assert.equal(migrated.count("A"), 2);
    migrated.close();
    // Version 2 (no row count) too.
    const v2 = new DatabaseSync(path);
    v2.exec("PRAGMA user_version = 2; ALTER TABLE locations DROP COLUMN files;");
    v2.close();
    const fromV2 = StateStore.open(path);
    assert.equal(fromV2.count("A"), 2);
    fromV2.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
