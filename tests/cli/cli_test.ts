import assert from "node:assert/strict";
import { join } from "node:path";
import { HELP, VERSION } from "../../lib/cli/help.ts";
import { fileURLToPath as fromFileUrl } from "node:url";
import { ferry, ferryArgs, listFiles, running, type RunOptions, scratch } from "./_run.ts";
import { until } from "../_until.ts";

Deno.test("ferry --help and --version print and exit 0", async () => {
  const help = await ferry(["--help"]);
  assert.equal(help.code, 0);
  assert.equal(help.stdout, HELP.main + "\n");
  for (const cmd of ["sync", "status"]) {
    assert.match(HELP.main!, new RegExp(`\\b${cmd} <from> <to>`));
  }
  const syncHelp = await ferry(["sync", "--help"]);
  assert.equal(syncHelp.stdout, HELP.sync + "\n");
  for (
    const flag of [
      "--delete",
      "--dry-run",
      "--checksum",
      "--exclude",
      "--max-delete",
      "--force",
      "--yes",
      "--interval",
    ]
  ) {
    assert.ok(HELP.sync!.includes(flag), flag);
  }
  const version = await ferry(["--version"]);
  assert.equal(version.stdout.trim(), `ferry ${VERSION}`);
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(denoJson.version, VERSION);
});

Deno.test("bad usage gets one line on stderr and exit 2, never a stack trace", async () => {
  const cases: [string[], RegExp][] = [
    [["sync", "a", "b", "--bogus"], /Unknown option "--bogus"/],
    [["frobnicate"], /Unknown command "frobnicate"/],
    [["sync", "only-one"], /takes two locations/],
    [["sync", "a", "b", "--max-delete", "lots"], /--max-delete takes a number/],
    [["sync", "a", "b", "--interval", "-5"], /--interval/],
    [["sync", "gopher://x", "b"], /Unknown location kind "gopher:"/],
    [["sync", ".", "./sub"], /nested/],
  ];
  for (const [args, re] of cases) {
    const r = await ferry(args);
    assert.equal(r.code, 2, args.join(" ") + ": " + r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\bat file:|Error:/);
  }
});

Deno.test("ferry sync copies a tree with awkward names, then a rerun does nothing", async () => {
  const s = await scratch({
    "plain.txt": "p",
    "with space/and ünïcödé 日本.txt": "u",
    "name\nwith newline": "n",
    [`${"long".repeat(60)}/${"x".repeat(250)}.txt`]: "long",
  });
  try {
    const first = await ferry(["sync", s.src, s.dst]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /4 files copied/);
    assert.deepEqual(listFiles(s.dst), listFiles(s.src));
    const again = await ferry(["sync", s.src, s.dst, "--json"]);
    const lines = again.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const summary = lines.at(-1);
    assert.equal(summary.event, "summary");
    for (
      const k of [
        "copied",
        "updated",
        "moved",
        "deleted",
        "conflicts",
        "skipped",
        "failed",
        "bytes",
      ]
    ) {
      assert.equal(summary[k], 0, k);
    }
    assert.equal(typeof summary.seconds, "number");
    // State and logs live in .ferry/ at the source root.
    assert.ok((await Deno.stat(join(s.src, ".ferry", "state.db"))).isFile);
    assert.ok([...Deno.readDirSync(join(s.src, ".ferry", "logs"))].length >= 1);
  } finally {
    await s.cleanup();
  }
});

Deno.test("ferry sync --dry-run and status list the plan and change nothing", async () => {
  const s = await scratch({ "a.txt": "a", "b/c.txt": "c" });
  try {
    const dry = await ferry(["sync", s.src, s.dst, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would copy a\.txt/);
    assert.match(dry.stdout, /would copy b\/c\.txt/);
    const status = await ferry(["status", s.src, s.dst]);
    assert.equal(status.code, 0);
    assert.match(status.stdout, /would copy a\.txt/);
    assert.match(status.stdout, /2 files to copy, 0 to update, 0 to move, 0 to delete/);
    await assert.rejects(Deno.stat(s.dst), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(join(s.src, ".ferry")), Deno.errors.NotFound);
  } finally {
    await s.cleanup();
  }
});

Deno.test("a missing or empty source is refused with exit 3 and nothing is deleted", async () => {
  const s = await scratch({ "a.txt": "a", "b.txt": "b" });
  try {
    assert.equal((await ferry(["sync", s.src, s.dst])).code, 0);
    const missing = await ferry(["sync", join(s.dir, "unplugged"), s.dst, "--delete"]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /does not exist/);
    const empty = join(s.dir, "empty");
    await Deno.mkdir(empty);
    const r = await ferry(["sync", empty, s.dst, "--delete", "--max-delete", "100%"]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /is empty: refusing to delete 2 file/);
    assert.deepEqual(listFiles(s.dst), ["a.txt", "b.txt"]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("--max-delete refuses with exit 3; --force and a higher limit let it through", async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 10; i++) files[`f${i}.txt`] = String(i);
  const s = await scratch(files);
  try {
    assert.equal((await ferry(["sync", s.src, s.dst])).code, 0);
    for (let i = 0; i < 6; i++) await Deno.remove(join(s.src, `f${i}.txt`));
    const refused = await ferry(["sync", s.src, s.dst, "--delete"]);
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /Refusing to delete 6 of 10 file\(s\) \(60%\)/);
    assert.equal(listFiles(s.dst).length, 10);
    const ok = await ferry(["sync", s.src, s.dst, "--delete", "--max-delete", "6", "-v"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /delete f0\.txt/);
    assert.equal(listFiles(s.dst).length, 4);
  } finally {
    await s.cleanup();
  }
});

Deno.test("a renamed folder is renamed in the destination (same inodes, nothing copied)", async () => {
  const s = await scratch({
    "album/1.jpg": "one",
    "album/2.jpg": "two",
    "album/sub/3.jpg": "three",
  });
  try {
    assert.equal((await ferry(["sync", s.src, s.dst])).code, 0);
    const ino = (await Deno.stat(join(s.dst, "album", "sub", "3.jpg"))).ino;
    await Deno.rename(join(s.src, "album"), join(s.src, "album 2024"));
    const r = await ferry(["sync", s.src, s.dst, "--delete", "-v"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /move album -> album 2024 \(3 files\)/);
    assert.match(r.stdout, /0 files copied, 0 updated, 3 moved, 0 deleted/);
    assert.equal((await Deno.stat(join(s.dst, "album 2024", "sub", "3.jpg"))).ino, ino);
    assert.deepEqual(listFiles(s.dst), [
      "album 2024/1.jpg",
      "album 2024/2.jpg",
      "album 2024/sub/3.jpg",
    ]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("restore workflow: sync back from the backup without --delete keeps extra files", async () => {
  const s = await scratch({ "doc.txt": "v1", "notes.txt": "n" });
  try {
    assert.equal((await ferry(["sync", s.src, s.dst])).code, 0);
    await Deno.remove(join(s.src, "doc.txt"));
    await Deno.writeTextFile(join(s.src, "new-since-backup.txt"), "new");
    const r = await ferry(["sync", s.dst, s.src]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(join(s.src, "doc.txt")), "v1");
    assert.deepEqual(listFiles(s.src), ["doc.txt", "new-since-backup.txt", "notes.txt"]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("symbolic links are skipped, never followed (a loop cannot trap the walk)", async () => {
  const s = await scratch({ "real.txt": "r" });
  try {
    await Deno.symlink(s.src, join(s.src, "loop"));
    await Deno.symlink(join(s.src, "real.txt"), join(s.src, "link.txt"));
    const r = await ferry(["sync", s.src, s.dst, "-v"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped: link\.txt: symbolic link \(not followed\)/);
    assert.match(r.stdout, /2 skipped/);
    assert.deepEqual(listFiles(s.dst), ["real.txt"]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("--state and --log-file elsewhere: no .ferry folder is made in either location", async () => {
  const s = await scratch({ "a.txt": "a" });
  try {
    const state = join(s.dir, "keep", "state.db");
    const log = join(s.dir, "keep", "run.log");
    const r = await ferry(["sync", s.src, s.dst, "--state", state, "--log-file", log]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(s.dst), ["a.txt"]);
    assert.deepEqual([...Deno.readDirSync(s.src)].map((e) => e.name), ["a.txt"]);
    assert.deepEqual([...Deno.readDirSync(s.dst)].map((e) => e.name), ["a.txt"]);
    assert.ok(Deno.statSync(state).isFile);
    assert.match(await Deno.readTextFile(log), /copy a\.txt/);
    // With only --state, the logs still go to .ferry/logs in the source (of a run that changes
    // something: a no-op writes no log).
    await Deno.writeTextFile(join(s.src, "b.txt"), "b");
    const r2 = await ferry(["sync", s.src, s.dst, "--state", state]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal([...Deno.readDirSync(join(s.src, ".ferry", "logs"))].length, 1);
  } finally {
    await s.cleanup();
  }
});

Deno.test("--interval runs passes until interrupted, then exits 130; the log file gets both", async () => {
  const s = await scratch({ "a.txt": "a" });
  try {
    const log = join(s.dir, "logs") + "/";
    const child = new Deno.Command(Deno.execPath(), {
      args: ferryArgs(["sync", s.src, s.dst, "--interval", "1", "--log-file", log]),
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    // Conditions with a deadline, never a fixed wait: a cold first run may take seconds.
    const deadline = Date.now() + 60_000;
    let seen = false;
    let both = false;
    const has = (name: string) => {
      try {
        return listFiles(s.dst).includes(name);
      } catch {
        return false; // not made yet
      }
    };
    while (Date.now() < deadline && !both) {
      await new Promise((r) => setTimeout(r, 25));
      if (!seen && has("a.txt")) {
        seen = true;
        await Deno.writeTextFile(join(s.src, "b.txt"), "b");
      }
      both = seen && has("b.txt");
    }
    child.kill("SIGINT");
    assert.ok(both, "a later pass copied b.txt");
    const out = await child.output();
    assert.equal(out.code, 130);
    assert.deepEqual(listFiles(s.dst), ["a.txt", "b.txt"]);
    const logs = [...Deno.readDirSync(join(s.dir, "logs"))];
    assert.equal(logs.length, 1);
    const text = await Deno.readTextFile(join(s.dir, "logs", logs[0]!.name));
    assert.match(text, /copy a\.txt/);
    assert.match(text, /copy b\.txt/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("--interval outlives an unplugged destination stick: the refusal is logged, the pass skipped, and the job catches up when it is back", async () => {
  // `ferry sync src usb/replica --interval 1`, then `mv usb away`: it ended with exit 3, and
  // nothing ran when the stick was back.
  const s = await scratch({ "a.txt": "a" });
  const usb = join(s.dir, "usb");
  const away = join(s.dir, "away");
  await Deno.mkdir(usb);
  const log = join(s.dir, "job.log");
  const job = running(["sync", s.src, join(usb, "replica"), "--interval", "1", "--log-file", log]);
  const has = (name: string) => {
    try {
      return listFiles(join(usb, "replica")).includes(name);
    } catch {
      return false; // not made yet, or unplugged
    }
  };
  try {
    await until("the first pass", () => has("a.txt"));
    await Deno.rename(usb, away);
    await Deno.writeTextFile(join(s.src, "b.txt"), "b");
    const skipped = () => job.stderr().split("this pass is skipped").length - 1;
    await until("two passes refused", () => skipped() >= 2);
    assert.match(
      job.stderr(),
      /should hold .*usb.* does not exist.*; this pass is skipped, the next in 1 s/,
    );
    assert.throws(() => Deno.statSync(usb), Deno.errors.NotFound, "the stick's folder is not made");
    await Deno.rename(away, usb);
    await until("the job catches up", () => has("b.txt"));
  } finally {
    const code = await job.stop();
    assert.equal(code, 130, job.stderr());
    assert.match(await Deno.readTextFile(log), /does not exist/);
    await s.cleanup();
  }
});

/** A deno binary and module cache that the user nobody can use, made once for these tests. */
let nobodyKit: Promise<{ denoDir: string; deno: string }> | undefined;

function kitForNobody(): Promise<{ denoDir: string; deno: string }> {
  nobodyKit ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "ferry-nobody-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const denoDir = join(dir, "deno-dir");
    const info = JSON.parse(
      new TextDecoder().decode(
        (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output()).stdout,
      ),
    );
    await Deno.mkdir(denoDir, { recursive: true });
    await new Deno.Command("cp", { args: ["-r", info.npmCache, join(denoDir, "npm")] }).output();
    // The deno binary may sit in root's npx cache, out of nobody's reach: use a copy.
    const deno = join(dir, "deno");
    await Deno.copyFile(Deno.execPath(), deno);
    await new Deno.Command("chmod", { args: ["-R", "a+rwX", dir] }).output();
    return { denoDir, deno };
  })();
  return nobodyKit;
}

/**
 * Make `locked` (paths below `dir`) unreadable to the ferry that `ferry(..., options)` runs.
 * root reads anything: then ferry runs as nobody, with a readable copy of the module cache.
 */
async function lockAway(dir: string, locked: string[]): Promise<RunOptions> {
  if (Deno.uid() !== 0) {
    for (const p of locked) await Deno.chmod(p, 0o000);
    return {};
  }
  const asNobody = await kitForNobody();
  await new Deno.Command("chmod", { args: ["-R", "a+rwX", dir] }).output();
  for (const p of locked) await Deno.chmod(p, 0o000);
  return { asNobody };
}

Deno.test("a file that cannot be read is listed as failed, the rest is copied, exit 1", async () => {
  const s = await scratch({ "fine.txt": "ok", "locked.txt": "secret" });
  try {
    const options = await lockAway(s.dir, [join(s.src, "locked.txt")]);
    const r = await ferry(["sync", s.src, s.dst], options);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /locked\.txt: .*[Pp]ermission denied/);
    assert.match(r.stdout, /1 file copied/);
    assert.deepEqual(listFiles(s.dst), ["fine.txt"]);
  } finally {
    await Deno.chmod(join(s.src, "locked.txt"), 0o644).catch(() => {});
    await s.cleanup();
  }
});

Deno.test("a folder that cannot be read is reported, and --delete keeps its replica, exit 1", async () => {
  const s = await scratch({ "fine.txt": "ok", "closed/a.txt": "a", "closed/deep/b.txt": "b" });
  try {
    let r = await ferry(["sync", s.src, s.dst]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await Deno.writeTextFile(join(s.src, "new.txt"), "new");
    const options = await lockAway(s.dir, [join(s.src, "closed")]);
    r = await ferry(["sync", s.src, s.dst, "--delete"], options);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /closed: .*[Pp]ermission denied/);
    assert.match(r.stdout, /1 file copied/);
    assert.deepEqual(listFiles(s.dst), [
      "closed/a.txt",
      "closed/deep/b.txt",
      "fine.txt",
      "new.txt",
    ]);
  } finally {
    await Deno.chmod(join(s.src, "closed"), 0o755).catch(() => {});
    await s.cleanup();
  }
});

Deno.test("ferry needs no network, FFI, subprocess or source files beyond its code at run time", async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 100; i++) files[`d${i % 4}/f${i}.txt`] = String(i);
  const s = await scratch(files);
  try {
    const lib = fromFileUrl(new URL("../../lib", import.meta.url));
    const permissions = [`--allow-read=${s.dir},${lib}`, `--allow-write=${s.dir}`, "--allow-env"];
    const r = await ferry(["sync", s.src, s.dst, "--delete"], { permissions });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /100 files copied/);
    assert.deepEqual(listFiles(s.dst), listFiles(s.src));
  } finally {
    await s.cleanup();
  }
});

Deno.test("an archive that cannot be written: each file fails in plain words, exit 1, the archive as it was", async () => {
  const s = await scratch({ "a.txt": "a", "b.txt": "b" });
  try {
    const zip = join(s.dir, "out.zip");
    let r = await ferry(["sync", s.src, `zip:${zip}`]);
    assert.equal(r.code, 0, r.stderr);
    await Deno.writeTextFile(join(s.src, "a.txt"), "changed");
    const options = await lockAway(s.dir, []);
    await Deno.chmod(zip, 0o444);
    const before = await Deno.readFile(zip);
    r = await ferry(["sync", s.src, `zip:${zip}`, "--state", join(s.dir, "state.db")], options);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /a\.txt: permission denied/);
    assert.doesNotMatch(r.stderr, /os error/);
    assert.deepEqual(await Deno.readFile(zip), before);
    assert.deepEqual([...Deno.readDirSync(s.dir)].filter((e) => e.name.includes("journal")), []);
  } finally {
    await s.cleanup();
  }
});
