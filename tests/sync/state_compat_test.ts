/**
 * A state database written by the ferry before issue 21 ("One pass, two kinds": a one-way job
 * kept only `holds` rows, ver 0, and no `agreed` rows) keeps working: the next pass copies
 * nothing, loses no row, and still proves a rename from it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { silentSink } from "../../lib/execute/events.ts";
import { StateStore } from "../../lib/state/store.ts";
import { jobKey, syncOnce } from "../../lib/sync.ts";

const T = 1_700_000_000_000;

/** The rows that ferry wrote for `sync a > b` over three files (dumped from its database). */
const MAIN_ROWS = `
INSERT INTO locations (id, name) VALUES (1, 'a'), (2, 'b');
INSERT INTO jobs (id, key, kind) VALUES (1, 'sync a > b', 'sync');
INSERT INTO members (job, loc, pos, files) VALUES (1, 1, 0, 3), (1, 2, 1, 3);
INSERT INTO holds (job, loc, path, ver, size, mtime, ino, dev, stamp, synced_at) VALUES
  (1, 1, 'd/e/three.txt', 0, 5, ${T + 2000}, 0, 0, 'w3', ${T + 9000}),
  (1, 1, 'd/two.txt', 0, 4, ${T + 1000}, 0, 0, 'w2', ${T + 9000}),
  (1, 1, 'one.txt', 0, 3, ${T}, 0, 0, 'w1', ${T + 9000}),
  (1, 2, 'd/e/three.txt', 0, 5, ${T + 2000}, 0, 0, 'w4', ${T + 9000}),
  (1, 2, 'd/two.txt', 0, 4, ${T + 1000}, 0, 0, 'w5', ${T + 9000}),
  (1, 2, 'one.txt', 0, 3, ${T}, 0, 0, 'w6', ${T + 9000});
INSERT INTO places (loc, place) VALUES (1, 'a'), (2, 'b');
`;

const FILES: [string, string, number][] = [
  ["one.txt", "one", T],
  ["d/two.txt", "two!", T + 1000],
  ["d/e/three.txt", "three", T + 2000],
];

async function put(b: MemoryBackend, key: string, text: string, mtime: number): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  await b.write(key, ReadableStream.from([bytes]), { size: bytes.length, mtime });
}

/** Both locations as that ferry left them, and its database opened by this one. */
async function madeBefore(dir: string) {
  const path = join(dir, "state.db");
  StateStore.open(path).close(); // the schema (4) both write
  const db = new DatabaseSync(path);
  db.exec(MAIN_ROWS);
  db.close();
  const a = new MemoryBackend({ name: "a" });
  const b = new MemoryBackend({ name: "b" });
  for (const [k, text, t] of FILES) {
    await put(a, k, text, t);
    await put(b, k, text, t);
  }
  return { a, b, state: StateStore.open(path) };
}

const rowsOf = (state: StateStore, a: MemoryBackend, b: MemoryBackend, loc: MemoryBackend) =>
  [...state.forJob(jobKey(a, b)).rows(loc.id).values()].map((r) => [r.path, r.size, r.mtime])
    .sort();

Deno.test("sync over a state written before one pass for two kinds: nothing copied, no row lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-compat-" });
  const { a, b, state } = await madeBefore(dir);
  try {
    const before = [rowsOf(state, a, b, a), rowsOf(state, a, b, b)];
    assert.equal(before[0]!.length, 3);
    const r = await syncOnce(a, b, { sink: silentSink, state, delete: true });
    assert.deepEqual(
      [r.summary.copied, r.summary.updated, r.summary.moved, r.summary.deleted, r.summary.failed],
      [0, 0, 0, 0, 0],
    );
    assert.deepEqual([rowsOf(state, a, b, a), rowsOf(state, a, b, b)], before);
  } finally {
    state.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sync over a state written before one pass for two kinds: a rename is proven from its rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-compat-" });
  const { a, b, state } = await madeBefore(dir);
  try {
    // Without --delete, only a file the state says the source had may be taken for a rename.
    await a.move("d/two.txt", "d/2.txt");
    const r = await syncOnce(a, b, { sink: silentSink, state, checksum: false });
    assert.equal(r.summary.moved, 1, JSON.stringify(r.summary));
    assert.equal(r.summary.copied, 0);
    const keys = (await b.list({})).entries.filter((e) => e.kind === "file").map((e) => e.key);
    assert.deepEqual(keys.sort(), ["d/2.txt", "d/e/three.txt", "one.txt"]);
    assert.deepEqual(rowsOf(state, a, b, b).map((r) => r[0]), [
      "d/2.txt",
      "d/e/three.txt",
      "one.txt",
    ]);
  } finally {
    state.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A new job over two folders in memory, its first pass done (with or without --delete). */
async function firstSynced(del: boolean) {
  const state = StateStore.open(":memory:");
  const a = new MemoryBackend({ name: "a" });
  const b = new MemoryBackend({ name: "b" });
  for (const [k, text, t] of FILES) await put(a, k, text, t);
  await syncOnce(a, b, { sink: silentSink, state, delete: del });
  return { state, a, b };
}

/** The job's agreed rows and each member's versions, as `path:ver`. */
function versions(state: StateStore, job: string) {
  const q = (sql: string) => state.all(sql, [job]).map((r) => Object.values(r as object).join(":"));
  return {
    agreed: q(
      "SELECT a.path, a.ver FROM agreed a JOIN jobs j ON j.id = a.job WHERE j.key = ? ORDER BY 1",
    ),
    holds: q(
      `SELECT l.name, h.path, h.ver FROM holds h JOIN jobs j ON j.id = h.job
       JOIN locations l ON l.id = h.loc WHERE j.key = ? ORDER BY 1, 2`,
    ),
  };
}

Deno.test("sync over a state written before one pass for two kinds: its next pass writes the agreed versions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-compat-" });
  const { a, b, state } = await madeBefore(dir);
  try {
    assert.deepEqual(versions(state, jobKey(a, b)).agreed, []);
    await syncOnce(a, b, { sink: silentSink, state });
    const v = versions(state, jobKey(a, b));
    assert.deepEqual(v.agreed, ["d/e/three.txt:1", "d/two.txt:1", "one.txt:1"]);
    assert.equal(v.holds.length, 6);
    assert.ok(v.holds.every((h) => h.endsWith(":1")), v.holds.join(" "));
  } finally {
    state.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a one-way job keeps agreed versions as a mirror does: an update is the next version, a deletion drops it", async () => {
  const { state, a, b } = await firstSynced(true);
  try {
    assert.deepEqual(versions(state, jobKey(a, b)).agreed, [
      "d/e/three.txt:1",
      "d/two.txt:1",
      "one.txt:1",
    ]);
    await put(a, "one.txt", "one, edited", T + 5000);
    await a.remove("d/two.txt");
    const r = await syncOnce(a, b, { sink: silentSink, state, delete: true });
    assert.deepEqual([r.summary.updated, r.summary.deleted], [1, 1]);
    const v = versions(state, jobKey(a, b));
    assert.deepEqual(v.agreed, ["d/e/three.txt:1", "one.txt:2"]);
    assert.deepEqual(v.holds, [
      "a:d/e/three.txt:1",
      "a:one.txt:2",
      "b:d/e/three.txt:1",
      "b:one.txt:2",
    ]);
  } finally {
    state.close();
  }
});

Deno.test("rows that count every file in step but name other files are rebuilt by the next pass", async () => {
  const { state, a, b } = await firstSynced(false);
  try {
    // The same file renamed by hand in both places, and another that went from both and came
    // back under a longer name: three rows, three files, two of them not the rows' files.
    for (const x of [a, b]) {
      await x.move("one.txt", "uno.txt");
      await x.remove("d/two.txt");
    }
    await put(a, "d/two, again.txt", "two!", T + 1000);
    await put(b, "d/two, again.txt", "two!", T + 1000);
    const r = await syncOnce(a, b, { sink: silentSink, state });
    assert.equal(r.summary.copied + r.summary.updated, 0, "nothing to send");
    const names = ["d/e/three.txt", "d/two, again.txt", "uno.txt"];
    assert.deepEqual(rowsOf(state, a, b, a).map((r) => r[0]), names);
    assert.deepEqual(rowsOf(state, a, b, b).map((r) => r[0]), names);
  } finally {
    state.close();
  }
});
