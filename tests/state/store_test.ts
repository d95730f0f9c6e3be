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
  stamp: null,
  syncedAt: 5,
  ...extra,
});

Deno.test("StateStore keeps rows per job and member and applies changes in one transaction", () => {
  const store = StateStore.open(":memory:");
  try {
    const s = store.forJob("sync A > B");
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
    store.close();
  }
});

Deno.test("StateStore: two jobs sharing a location keep their own rows and share its hash cache", () => {
  const store = StateStore.open(":memory:");
  try {
    const ab = store.forJob("sync A > B");
    const ac = store.forJob("sync A > C");
    ab.apply([{ loc: "A", upserts: [row("x", { sha256: "aa", ino: 7 })], deletes: [] }]);
    ac.apply([{ loc: "A", upserts: [row("y", { ino: 8 })], deletes: [] }]);
    assert.deepEqual([...ab.rows("A").keys()], ["x"]);
    assert.deepEqual([...ac.rows("A").keys()], ["y"]);
    // A hash is a fact about the location: every job reads it.
    assert.deepEqual(ac.hashes("A").get("x"), { size: 1, mtime: 2, ino: 7, sha256: "aa" });
    // A file deleted at the location takes its cached hash with it.
    ab.apply([{ loc: "A", upserts: [], deletes: ["x"] }]);
    assert.equal(ac.hashes("A").has("x"), false);
  } finally {
    store.close();
  }
});

/** A schema 3 database as ferry 0.x wrote it: rows per location name (`job␟loc` for jobs). */
function writeV3(path: string): void {
  const db = new DatabaseSync(path);
  db.exec(`
    CREATE TABLE locations (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, files INTEGER);
    CREATE TABLE files (
      loc INTEGER NOT NULL REFERENCES locations (id), path TEXT NOT NULL, size INTEGER NOT NULL,
      mtime INTEGER NOT NULL, ino INTEGER NOT NULL DEFAULT 0, dev INTEGER NOT NULL DEFAULT 0,
      sha256 TEXT, synced_at INTEGER NOT NULL DEFAULT 0, etag TEXT, PRIMARY KEY (loc, path)
    ) WITHOUT ROWID;
    CREATE TABLE uploads (loc TEXT NOT NULL, key TEXT NOT NULL, upload_id TEXT NOT NULL PRIMARY KEY, started INTEGER NOT NULL);
    INSERT INTO locations (id, name, files) VALUES
      (1, 'sync A > B' || char(31) || 'A', 2), (2, 'sync A > B' || char(31) || 'B', 2), (3, 'L', 1);
    INSERT INTO files VALUES
      (1, 'x', 1, 2, 3, 4, 'aa', 5, NULL), (1, 'y', 1, 2, 6, 4, NULL, 5, NULL),
      (2, 'x', 1, 2, 0, 0, NULL, 5, '"e1"'), (2, 'y', 1, 2, 0, 0, NULL, 5, '"e2"'),
      (3, 'old', 7, 8, 9, 4, 'bb', 5, NULL);
    INSERT INTO uploads VALUES ('B', 'k', 'u1', 1);
    PRAGMA user_version = 3;
  `);
  db.close();
}

Deno.test("StateStore migrates schema 3 to 4: job rows, legacy rows, hash cache and uploads kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "state.db");
    writeV3(path);
    const store = StateStore.open(path);
    const job = store.forJob("sync A > B");
    assert.deepEqual([...job.rows("A").keys()].sort(), ["x", "y"]);
    assert.equal(job.rows("B").get("x")?.stamp, '"e1"');
    assert.equal(job.count("B"), 2);
    assert.equal(job.hashes("A").get("x")?.sha256, "aa", "no file is hashed again");
    // Rows an older ferry kept for a location itself go to the first job that uses it.
    const other = store.forJob("sync L > M");
    assert.deepEqual([...other.rows("L").keys()], ["old"]);
    assert.equal(other.hashes("L").get("old")?.sha256, "bb");
    assert.deepEqual(store.list("B"), [{ key: "k", id: "u1" }]);
    store.close();
    const db = new DatabaseSync(path);
    assert.equal(
      (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
      4,
    );
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StateStore.open() creates folders, survives reopening and refuses a newer schema", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "nested", "state.db");
    const s = StateStore.open(path);
    s.forJob("j").apply([{ loc: "A", upserts: [row("x", { sha256: "ab" })], deletes: [] }]);
    s.close();
    const again = StateStore.open(path);
    assert.equal(again.forJob("j").hashes("A").get("x")?.sha256, "ab");
    again.close();
    const db = new DatabaseSync(path);
    db.exec("PRAGMA user_version = 99");
    db.close();
    assert.throws(() => StateStore.open(path), /newer ferry/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StateStore migrates schemas 1 and 2 through 3 to 4, rows kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const version of [1, 2]) {
      const path = join(dir, `v${version}.db`);
      writeV3(path);
      const db = new DatabaseSync(path);
      db.exec(
        `PRAGMA user_version = ${version}; ALTER TABLE locations DROP COLUMN files;` +
          (version === 1 ? " ALTER TABLE files DROP COLUMN etag;" : ""),
      );
      db.close();
      const store = StateStore.open(path);
      const job = store.forJob("sync A > B");
      assert.equal(job.count("A"), 2, `from ${version}: counts rows it had no count for`);
      assert.equal(job.hashes("A").get("x")?.sha256, "aa");
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StateStore: a read-only (dry run) view writes nothing, not even a new job's name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "state.db");
    writeV3(path);
    StateStore.open(path).close(); // migrated once
    const before = await Deno.readFile(path);
    const store = StateStore.open(path);
    const dry = store.forJob("sync L > new", { readOnly: true });
    // What an older ferry kept for L is seen, as the real run will adopt it.
    assert.deepEqual([...dry.rows("L").keys()], ["old"]);
    assert.equal(dry.rows("new").size, 0);
    assert.equal(dry.count("new"), 0);
    assert.throws(() => dry.apply([{ loc: "L", upserts: [], deletes: [] }]), /read-only/);
    store.close();
    assert.deepEqual(await Deno.readFile(path), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
