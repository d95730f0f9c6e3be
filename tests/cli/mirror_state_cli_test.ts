/**
 * Where a mirror keeps its state: in the platform's state folder, keyed by the job, never in a
 * member. With the state in `m1/.ferry`, unplugging `m1` made the next run a first run: `m1` was
 * created again, filled, and a file deleted meanwhile came back. Also: the state an older ferry
 * kept in a member is moved, a missing member is never created once the job has state, a
 * `.ferry` folder at any depth is never mirrored, and a member that is a file is a typo.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { jobLastWritten } from "../../lib/state/move_job.ts";
import { ferry, listFiles, summaryOf } from "./_run.ts";

/** A temporary folder whose ferry runs keep the platform's state in `<dir>/state-home`. */
async function place(): Promise<{
  dir: string;
  home: string;
  run: (args: string[]) => ReturnType<typeof ferry>;
  cleanup: () => Promise<void>;
}> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-mstate-" });
  const home = join(dir, "state-home");
  return {
    dir,
    home,
    run: (args) => ferry(args, { env: { XDG_STATE_HOME: home } }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

function exists(p: string): boolean {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The job folders in the platform's state folder. */
function jobDirs(home: string): string[] {
  try {
    return [...Deno.readDirSync(join(home, "ferry"))].map((e) => e.name).filter((n) =>
      n.startsWith("mirror-")
    ).sort();
  } catch {
    return [];
  }
}

Deno.test("ferry mirror: a member moved away with the state it used to hold is not created again, and a deletion made meanwhile is not undone", async () => {
  const p = await place();
  try {
    const [m1, m2, m3] = ["m1", "m2", "m3"].map((m) => join(p.dir, m)) as [string, string, string];
    for (const m of [m1, m2, m3]) Deno.mkdirSync(m);
    Deno.writeTextFileSync(join(m1, "f1"), "1\n");
    // A second file: a member left with no file at all would sit out as "emptied".
    Deno.writeTextFileSync(join(m1, "f2"), "2\n");
    let r = await p.run(["mirror", m1, m2, m3]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([listFiles(m2), listFiles(m3)], [["f1", "f2"], ["f1", "f2"]]);
    // The state is the platform's, in a folder of the job's own, with its logs; none in m1.
    const jobs = jobDirs(p.home);
    assert.equal(jobs.length, 1, "one job folder");
    const jobDir = join(p.home, "ferry", jobs[0]!);
    assert.ok(Deno.statSync(join(jobDir, "state.db")).isFile);
    assert.equal([...Deno.readDirSync(join(jobDir, "logs"))].length, 1, "the run's log");
    assert.match(Deno.readTextFileSync(join(jobDir, "job.txt")), /file:.*m1 > file:.*m2/);
    assert.ok(!exists(join(m1, ".ferry", "state.db")), "no state in a member");
    assert.ok(!exists(join(m1, ".ferry", "logs")), "no logs in a member");

    Deno.renameSync(m1, join(p.dir, "away"));
    Deno.removeSync(join(m3, "f1"));
    r = await p.run(["mirror", m1, m2, m3, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!exists(m1), "m1 is not created again");
    assert.match(r.stdout, /m1\\" is missing, but held 2 file\(s\) at the last mirror: it sits/);
    assert.doesNotMatch(r.stdout, /Created/);
    assert.deepEqual([listFiles(m2), listFiles(m3)], [["f2"], ["f2"]], "the deletion spread");
    assert.equal(summaryOf(r.stdout).deleted, 1);

    // Back again (given in another order: the same job), it catches up: f1 goes there too.
    Deno.renameSync(join(p.dir, "away"), m1);
    r = await p.run(["mirror", m3, m1, m2, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([listFiles(m1), listFiles(m2), listFiles(m3)], [["f2"], ["f2"], ["f2"]]);
    assert.deepEqual(jobDirs(p.home), jobs, "the same job, whatever the order");
  } finally {
    await p.cleanup();
  }
});

Deno.test("ferry mirror: once the job has state, a missing member is never created, even one that held no file", async () => {
  const p = await place();
  try {
    const [e1, e2] = [join(p.dir, "e1"), join(p.dir, "e2")];
    Deno.mkdirSync(e1);
    let r = await p.run(["mirror", e1, e2]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Created ".*e2"/, "a new member is made on the first run");
    Deno.removeSync(e2, { recursive: true });
    r = await p.run(["mirror", e1, e2]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /e2" is missing, but took part at the last mirror: it sits this round out, is not created again/,
    );
    assert.match(r.stderr, /Only 1 of 2 locations can take part/);
    assert.ok(!exists(e2), "not created");
    // A dry run does not create it either, nor says it would.
    r = await p.run(["mirror", e1, e2, "--dry-run"]);
    assert.equal(r.code, 3, r.stderr);
    assert.ok(!exists(e2));
    // Made again by hand, as the warning says, it is a new location and is filled.
    assert.match(r.stderr, /make it as an empty folder to have it filled/);
    Deno.writeTextFileSync(join(e1, "x.txt"), "x");
    Deno.mkdirSync(e2);
    r = await p.run(["mirror", e1, e2]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(e2), ["x.txt"]);
    assert.deepEqual(listFiles(e1), ["x.txt"]);
  } finally {
    await p.cleanup();
  }
});

Deno.test("ferry mirror: the state an older ferry kept in a member's .ferry is moved to the state folder, so the next run is not a first run", async () => {
  const p = await place();
  try {
    const [m1, m2, m3, other] = ["m1", "m2", "m3", "other"].map((m) => join(p.dir, m)) as [
      string,
      string,
      string,
      string,
    ];
    for (const m of [m1, m2, m3]) Deno.mkdirSync(m);
    Deno.writeTextFileSync(join(m1, "f1"), "1\n");
    Deno.writeTextFileSync(join(m2, "f2"), "2\n");
    // Where an older ferry kept the state: the first member's .ferry folder, beside the state
    // of a sync from that folder.
    const legacy = join(m1, ".ferry", "state.db");
    let r = await p.run(["sync", m1, other]);
    assert.equal(r.code, 0, r.stderr);
    r = await p.run(["mirror", m1, m2, m3, "--state", legacy]);
    assert.equal(r.code, 0, r.stderr);
    const jobKeys = () => {
      const db = new DatabaseSync(legacy, { readOnly: true });
      try {
        return (db.prepare("SELECT key FROM jobs ORDER BY key").all() as { key: string }[])
          .map((r) => r.key.split(" ")[0]);
      } finally {
        db.close();
      }
    };
    assert.deepEqual(jobKeys(), ["mirror", "sync"]);
    const job = `mirror ${[m1, m2, m3].map((m) => `file:${m}`).join(" > ")}`;
    assert.ok(jobLastWritten(legacy, job) !== undefined, "the old place holds the mirror");
    // (Its log went to the job's folder in the state folder; no state there yet.)
    const logsOnly = jobDirs(p.home);
    assert.ok(logsOnly.every((d) => !exists(join(p.home, "ferry", d, "state.db"))));

    // The deletion made since then is spread, not undone: the state was found.
    Deno.removeSync(join(m3, "f1"));
    r = await p.run(["mirror", m1, m2, m3, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Moved this mirror's state from \\".*m1\/\.ferry\/state\.db\\"/);
    assert.deepEqual([listFiles(m1), listFiles(m2), listFiles(m3)], [["f2"], ["f2"], ["f2"]]);
    assert.equal(summaryOf(r.stdout).deleted, 2);
    assert.equal(summaryOf(r.stdout).copied, 0);
    // Moved: the new place holds it, the old one no longer does; the sync's rows stay there.
    assert.equal(jobDirs(p.home).length, 1);
    const moved = join(p.home, "ferry", jobDirs(p.home)[0]!, "state.db");
    assert.ok(jobLastWritten(moved, job) !== undefined);
    assert.equal(jobLastWritten(legacy, job), undefined);
    assert.deepEqual(jobKeys(), ["sync"], "the sync's state stays where it was");
    r = await p.run(["sync", m1, other, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(other), ["f1", "f2"]);

    // Unplugged now, m1 sits the round out (the state did not leave with it).
    Deno.renameSync(m1, join(p.dir, "away"));
    r = await p.run(["mirror", m1, m2, m3]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!exists(m1));
  } finally {
    await p.cleanup();
  }
});

Deno.test("ferry mirror: a .ferry folder at any depth (another job's state, lock and logs) is not mirrored, into a folder or a ZIP", async () => {
  const p = await place();
  try {
    const [a, b] = [join(p.dir, "a"), join(p.dir, "b")];
    const zip = join(p.dir, "c.zip");
    for (
      const f of [
        "doc.txt",
        "sub/.ferry/state.db",
        "sub/.ferry/state.db.lock",
        "sub/.ferry/logs/x.log",
        "sub/keep.txt",
      ]
    ) {
      Deno.mkdirSync(join(a, f, ".."), { recursive: true });
      Deno.writeTextFileSync(join(a, f), f);
    }
    let r = await p.run(["mirror", a, b, `zip:${zip}`, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(b), ["doc.txt", "sub/keep.txt"]);
    assert.ok(!exists(join(b, "sub", ".ferry")));
    const z = new ZipBackend(zip);
    try {
      const l = await z.list();
      assert.deepEqual(l.entries.map((e) => e.key).sort(), ["doc.txt", "sub", "sub/keep.txt"]);
    } finally {
      await z.close();
    }
    const names = new TextDecoder().decode(
      new Deno.Command("unzip", { args: ["-Z1", zip] }).outputSync().stdout,
    );
    assert.doesNotMatch(names, /\.ferry/);
    // A sync likewise, and its --delete never removes one in the destination.
    Deno.mkdirSync(join(p.dir, "d", "x", ".ferry"), { recursive: true });
    Deno.writeTextFileSync(join(p.dir, "d", "x", ".ferry", "state.db"), "theirs");
    r = await p.run(["sync", a, join(p.dir, "d"), "--delete", "--yes", "--force", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summaryOf(r.stdout).deleted, 0);
    assert.equal(Deno.readTextFileSync(join(p.dir, "d", "x", ".ferry", "state.db")), "theirs");
    assert.ok(!exists(join(p.dir, "d", "sub", ".ferry")));
  } finally {
    await p.cleanup();
  }
});

Deno.test("ferry mirror: a member that is a file is a typo: one line, exit 2, nothing made", async () => {
  const p = await place();
  try {
    const a = join(p.dir, "a");
    const f = join(p.dir, "notes.txt");
    Deno.mkdirSync(a);
    Deno.writeTextFileSync(f, "x");
    const r = await p.run(["mirror", a, f]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^ferry: error: ".*notes\.txt" is a file, not a folder/);
    assert.deepEqual(jobDirs(p.home), []);
    assert.ok(!exists(join(a, ".ferry")));
  } finally {
    await p.cleanup();
  }
});

Deno.test("ferry sync: a destination it synced into before and that is now missing is refused with exit 3, not created; --force makes it anew", async () => {
  const p = await place();
  try {
    const src = join(p.dir, "src");
    const usb = join(p.dir, "usb");
    const dst = join(usb, "backup");
    Deno.mkdirSync(src);
    Deno.mkdirSync(usb);
    Deno.writeTextFileSync(join(src, "a.txt"), "a");
    let r = await p.run(["sync", src, dst]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Created/, "made on the first run");
    // Unplugged: the mount point stays, the folder on the stick is gone.
    Deno.renameSync(dst, join(p.dir, "away"));
    for (const more of [[], ["--dry-run"], ["--delete", "--yes"]]) {
      r = await p.run(["sync", src, dst, ...more]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(
        r.stderr,
        /Destination ".*backup" is missing, but the last sync left 1 file\(s\) there .*it is not created again/,
      );
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
      assert.ok(!exists(dst), "not created");
    }
    // Back: it goes on as before.
    Deno.renameSync(join(p.dir, "away"), dst);
    Deno.writeTextFileSync(join(src, "b.txt"), "b");
    r = await p.run(["sync", src, dst]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(dst), ["a.txt", "b.txt"]);
    // Deleted on purpose: --force makes it anew.
    Deno.removeSync(dst, { recursive: true });
    r = await p.run(["sync", src, dst, "--force"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(dst), ["a.txt", "b.txt"]);
  } finally {
    await p.cleanup();
  }
});

Deno.test("ferry sync from a location that cannot hold the state keeps it in the state folder, not in the destination; an older ferry's there is copied", async () => {
  const p = await place();
  try {
    const src = join(p.dir, "src");
    const zip = `zip:${join(p.dir, "a.zip")}`;
    Deno.mkdirSync(src);
    Deno.writeTextFileSync(join(src, "a.txt"), "a");
    let r = await p.run(["sync", src, zip]);
    assert.equal(r.code, 0, r.stderr);
    // From the archive into a folder: the state is not the destination's.
    const dst = join(p.dir, "dst");
    r = await p.run(["sync", zip, dst]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!exists(join(dst, ".ferry", "state.db")), "no state in the destination");
    const syncDirs = () =>
      [...Deno.readDirSync(join(p.home, "ferry"))].map((e) => e.name).filter((n) =>
        n.startsWith("sync-")
      );
    assert.equal(syncDirs().length, 1);
    assert.ok(Deno.statSync(join(p.home, "ferry", syncDirs()[0]!, "state.db")).isFile);
    // So a destination unplugged is known to be missing, and refused.
    Deno.renameSync(dst, join(p.dir, "away"));
    r = await p.run(["sync", zip, dst]);
    assert.equal(r.code, 3, r.stderr);
    assert.ok(!exists(dst));

    // An older ferry kept it in the destination's .ferry: the first run copies it over.
    const old = join(p.dir, "old");
    const legacy = join(old, ".ferry", "state.db");
    r = await p.run(["sync", zip, old, "--state", legacy]);
    assert.equal(r.code, 0, r.stderr);
    const db = new DatabaseSync(legacy, { readOnly: true });
    const [{ key }] = db.prepare("SELECT key FROM jobs").all() as [{ key: string }];
    db.close();
    const before = jobLastWritten(legacy, key);
    assert.ok(before);
    r = await p.run(["sync", zip, old, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Copied this job's state from \\".*old\/\.ferry\/state\.db\\"/);
    assert.equal(summaryOf(r.stdout).copied, 0);
    const copied = syncDirs().map((d) => join(p.home, "ferry", d, "state.db")).filter((f) =>
      jobLastWritten(f, key) !== undefined
    );
    assert.equal(copied.length, 1, "the job's rows are in the state folder");
    assert.ok(jobLastWritten(copied[0]!, key)! >= before, "its rows, as left or written since");

    // A folder whose .ferry holds only the state of a sync from it: nothing of this job there.
    const third = join(p.dir, "third");
    Deno.mkdirSync(third);
    Deno.writeTextFileSync(join(third, "t.txt"), "t");
    r = await p.run(["sync", third, join(p.dir, "fourth")]);
    assert.equal(r.code, 0, r.stderr);
    r = await p.run(["sync", zip, third, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /Copied this job's state/);
  } finally {
    await p.cleanup();
  }
});

Deno.test("ferry mirror of locations none of which could hold the state: an older ferry's state-<id>.db in the state folder is moved to the job's folder", async () => {
  const p = await place();
  try {
    const src = join(p.dir, "src");
    Deno.mkdirSync(src);
    Deno.writeTextFileSync(join(src, "a.txt"), "a");
    const [za, zb] = [`zip:${join(p.dir, "a.zip")}`, `zip:${join(p.dir, "b.zip")}`];
    let r = await p.run(["sync", src, za]);
    assert.equal(r.code, 0, r.stderr);
    // Where an older ferry kept it: named by the locations' texts, in the order given.
    const id = createHash("sha256").update([za, zb].join("\n")).digest("hex").slice(0, 16);
    const older = join(p.home, "ferry", `state-${id}.db`);
    r = await p.run(["mirror", za, zb, "--state", older]);
    assert.equal(r.code, 0, r.stderr);
    const job = `mirror ${[za, zb].sort().join(" > ")}`;
    const before = jobLastWritten(older, job);
    assert.ok(before, "the older place holds the mirror");
    r = await p.run(["mirror", zb, za, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Moved this mirror's state from \\".*state-[0-9a-f]{16}\.db\\"/);
    assert.equal(summaryOf(r.stdout).copied, 0);
    const now = join(p.home, "ferry", jobDirs(p.home)[0]!, "state.db");
    assert.ok(jobLastWritten(now, job)! >= before, "its rows, as left or written since");
    assert.equal(jobLastWritten(older, job), undefined);
  } finally {
    await p.cleanup();
  }
});
