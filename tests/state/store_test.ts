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

Deno.test("StateStore: the rows marked agreed are the job's agreed versions, named by every member's rows; the digest sums them", () => {
  const store = StateStore.open(":memory:");
  try {
    const s = store.forJob("sync A > B");
    const agreed = () =>
      store.all(
        `SELECT a.path, a.ver, a.size FROM agreed a JOIN jobs j ON j.id = a.job
         WHERE j.key = 'sync A > B' ORDER BY a.path`,
        [],
      ).map((r) => Object.values(r as object).join(":"));
    const vers = () =>
      store.all(
        `SELECT l.name, h.path, h.ver FROM holds h JOIN locations l ON l.id = h.loc
         ORDER BY l.name, h.path`,
        [],
      ).map((r) => Object.values(r as object).join(":"));
    const pair = (
      rows: StateRow[],
      extra: { deletes?: string[]; replaceAll?: boolean; replaceUnder?: string[] } = {},
    ) => [
      { loc: "A", upserts: rows, deletes: extra.deletes ?? [], agreed: true, ...extra },
      { loc: "B", upserts: rows, deletes: extra.deletes ?? [], ...extra },
    ];
    // Rows never replaced whole are no record of every agreed version: unsummed.
    s.apply(pair([row("a")]));
    assert.deepEqual(s.digest("A"), { files: 1, bytes: null, chars: null });
    s.apply(pair([row("a"), row("d/b", { size: 30 }), row("🚀")], { replaceAll: true }));
    assert.deepEqual(agreed(), ["a:1:1", "d/b:1:30", "🚀:1:1"]);
    assert.deepEqual(vers(), ["A:a:1", "A:d/b:1", "A:🚀:1", "B:a:1", "B:d/b:1", "B:🚀:1"]);
    assert.deepEqual(s.digest("B"), { files: 3, bytes: 32, chars: 5 }, "the rocket is one char");
    // An update is a new version; a row written again unchanged is not.
    s.apply(pair([row("a", { size: 2 }), row("🚀")]));
    assert.deepEqual(agreed(), ["a:2:2", "d/b:1:30", "🚀:1:1"]);
    assert.deepEqual(vers().filter((v) => v.endsWith(":a:2")), ["A:a:2", "B:a:2"]);
    // A deletion and a folder move follow; a member's own row (a hash read) keeps its version.
    s.apply([
      { loc: "A", upserts: [], deletes: ["🚀"], dirMoves: [{ from: "d", to: "e" }], agreed: true },
      {
        loc: "B",
        upserts: [row("a", { size: 2, sha256: "ff" })],
        deletes: ["🚀"],
        dirMoves: [{ from: "d", to: "e" }],
      },
    ]);
    assert.deepEqual(agreed(), ["a:2:2", "e/b:1:30"]);
    assert.deepEqual(vers(), ["A:a:2", "A:e/b:1", "B:a:2", "B:e/b:1"]);
    // A rebuild keeps the versions of paths it keeps and drops the rest.
    s.apply(pair([row("a", { size: 2 }), row("new")], { replaceAll: true }));
    assert.deepEqual(agreed(), ["a:2:2", "new:1:1"]);
    assert.deepEqual(s.digest("A"), { files: 2, bytes: 3, chars: 4 });
    assert.deepEqual(s.digestUnder("A", ["new"]), { files: 1, bytes: 1, chars: 3 });
    // A scoped rebuild: its paths made or dropped, every other path's version left alone.
    s.apply([
      {
        loc: "A",
        upserts: [row("d/x"), row("d/y")],
        deletes: [],
        replaceUnder: ["d"],
        agreed: true,
      },
      { loc: "B", upserts: [row("d/x"), row("d/y")], deletes: [], replaceUnder: ["d"] },
    ]);
    s.apply(pair([row("d/y", { size: 5 })], { replaceUnder: ["d"] }));
    assert.deepEqual(agreed(), ["a:2:2", "d/y:2:5", "new:1:1"]);
    assert.deepEqual(vers().filter((v) => v.includes(":d/")), ["A:d/y:2", "B:d/y:2"]);
  } finally {
    store.close();
  }
});

Deno.test("StateStore: rows an older ferry wrote have no digest (a one-way pass rebuilds them once)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "state.db");
    const store = StateStore.open(path);
    store.forJob("sync A > B").apply([{ loc: "A", upserts: [row("a")], deletes: [] }]);
    store.close();
    // What a ferry before the digest columns left: the columns dropped again.
    const db = new DatabaseSync(path);
    db.exec("ALTER TABLE members DROP COLUMN bytes; ALTER TABLE members DROP COLUMN chars");
    db.close();
    const again = StateStore.open(path);
    try {
      assert.deepEqual(again.forJob("sync A > B").digest("A"), {
        files: 1,
        bytes: null,
        chars: null,
      });
    } finally {
      again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
