/**
 * ferry's own files inside a folder of the job — a ZIP location's archive, the state database
 * and the log — are never synced: an archive is not put into itself, a restore from it with
 * `--delete` neither overwrites nor deletes it, and the state is not copied half written.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { ferry, listFiles, scratch, summaryOf } from "./_run.ts";

async function entries(archive: string): Promise<string[]> {
  const z = new ZipBackend(archive);
  try {
    const l = await z.list();
    return l.entries.filter((e) => e.kind === "file").map((e) => e.key).sort();
  } finally {
    await z.close();
  }
}

Deno.test("own files: an archive inside the folder it backs up is not put into itself, and a restore from it with --delete keeps it", async () => {
  const s = await scratch({ "a.txt": "aaa", "sub/b.txt": "bbb" });
  try {
    const archive = join(s.src, "sub", "backup.zip");
    let r = await ferry(["sync", s.src, `zip:${archive}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await entries(archive), ["a.txt", "sub/b.txt"]);
    r = await ferry(["sync", s.src, `zip:${archive}`, "--json"]);
    assert.equal(summaryOf(r.stdout).copied, 0, "a second run is a no-op");
    assert.equal(r.code, 0, r.stderr);

    // Restore into the folder that holds the archive, deleting what the archive lacks.
    await Deno.writeTextFile(join(s.src, "new.txt"), "not in the archive");
    const before = await Deno.readFile(archive);
    r = await ferry(["sync", `zip:${archive}`, s.src, "--delete", "--yes", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summaryOf(r.stdout).deleted, 1);
    assert.deepEqual(await Deno.readFile(archive), before, "the archive is as it was");
    assert.deepEqual(listFiles(s.src), ["a.txt", "sub/b.txt", "sub/backup.zip"]);

    r = await ferry(["check", s.src, `zip:${archive}`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);

    // A mirror of the folder, another folder and the archive inside the first.
    await Deno.mkdir(s.dst);
    await Deno.writeTextFile(join(s.dst, "c.txt"), "ccc");
    r = await ferry(["mirror", s.src, s.dst, `zip:${archive}`, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(s.dst), ["a.txt", "c.txt", "sub/b.txt"]);
    assert.deepEqual(await entries(archive), ["a.txt", "c.txt", "sub/b.txt"]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("own files: a state database and a log inside the source are not copied", async () => {
  const s = await scratch({ "a.txt": "aaa" });
  try {
    const args = [
      "sync",
      s.src,
      s.dst,
      "--state",
      join(s.src, "ferry.db"),
      "--log-file",
      join(s.src, "logs", "ferry.log"),
      "--json",
    ];
    let r = await ferry(args);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(s.dst), ["a.txt"]);
    r = await ferry(args);
    assert.equal(r.code, 0, r.stderr);
    const sum = summaryOf(r.stdout);
    assert.deepEqual([sum.copied, sum.updated], [0, 0], "a second run is a no-op");
    assert.deepEqual(listFiles(s.dst), ["a.txt"]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("own files: a state database and a log inside the destination are not deleted by --delete", async () => {
  const s = await scratch({ "a.txt": "aaa" });
  try {
    await Deno.mkdir(s.dst);
    for (let i = 0; i < 3; i++) await Deno.writeTextFile(join(s.dst, `old${i}.txt`), "gone");
    const args = [
      "sync",
      s.src,
      s.dst,
      "--delete",
      "--yes",
      "--max-delete",
      "10",
      "--state",
      join(s.dst, "ferry.db"),
      "--log-file",
      join(s.dst, "ferry.log"),
      "--json",
    ];
    for (const round of [1, 2]) {
      const r = await ferry(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(summaryOf(r.stdout).deleted, round === 1 ? 3 : 0);
      assert.deepEqual(listFiles(s.dst), [
        "a.txt",
        "ferry.db",
        "ferry.db.lock",
        "ferry.log",
      ]);
    }
  } finally {
    await s.cleanup();
  }
});
