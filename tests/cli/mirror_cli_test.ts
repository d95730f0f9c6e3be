/**
 * `ferry mirror` as a new user runs it: two folders and an S3 prefix (s3rver on 127.0.0.1),
 * edits on each side, simultaneous edits, a deletion, a rename, an unplugged location, a
 * location list file, the prompt on a terminal, and `--watch` following changes on both sides
 * of a folder pair and of a folder and S3 until Ctrl-C.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startS3rver } from "../servers/s3rver.ts";
import { ferry, ferryArgs, listFiles, onTerminal, running, summaryOf, testEnv } from "./_run.ts";
import { until } from "../_until.ts";

const server = await startS3rver(["mirror"]);
const S3 = ["--endpoint", server.endpoint, "--path-style"];
const env = {
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  AWS_REGION: "us-east-1",
};

function write(root: string, rel: string, text: string, mtime?: number): void {
  const p = join(root, ...rel.split("/"));
  Deno.mkdirSync(join(p, ".."), { recursive: true });
  Deno.writeTextFileSync(p, text);
  if (mtime !== undefined) Deno.utimeSync(p, new Date(mtime), new Date(mtime));
}

function read(root: string, rel: string): string | undefined {
  try {
    return Deno.readTextFileSync(join(root, ...rel.split("/")));
  } catch {
    return undefined;
  }
}

Deno.test("ferry mirror: two folders and an S3 prefix — edits spread, conflicts kept, deletions and renames spread, an unplugged folder deletes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-mirror-" });
  const a = join(dir, "a");
  const b = join(dir, "b");
  const s3 = "s3://mirror/team";
  const state = join(dir, "state.db");
  const run = (...more: string[]) =>
    ferry(["mirror", a, b, s3, ...S3, "--state", state, "--json", ...more], { env });
  try {
    const t = Date.now() - 60_000;
    write(a, "docs/plan.txt", "plan", t);
    write(b, "notes.txt", "notes", t);
    // First run: the union, nothing deleted.
    let r = await run();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(a), ["docs/plan.txt", "notes.txt"]);
    assert.deepEqual(listFiles(b), ["docs/plan.txt", "notes.txt"]);
    // An edit in one folder reaches the other and S3 (checked by mirroring S3 into a fresh folder).
    write(b, "docs/plan.txt", "plan v2", t + 10_000);
    r = await run();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summaryOf(r.stdout).updated, 2);
    assert.equal(read(a, "docs/plan.txt"), "plan v2");
    // Simultaneous edits: the newest wins everywhere, the other is kept beside it.
    write(a, "notes.txt", "notes from a", t + 20_000);
    write(b, "notes.txt", "notes from b", t + 30_000);
    r = await run();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summaryOf(r.stdout).conflicts, 1);
    assert.equal(read(a, "notes.txt"), "notes from b");
    const kept = listFiles(a).filter((f) => f.includes(".conflict-"));
    assert.equal(kept.length, 1);
    assert.match(kept[0]!, /^notes\.conflict-\d{8}-\d{6}-a\.txt$/);
    assert.equal(read(a, kept[0]!), "notes from a");
    assert.equal(read(b, kept[0]!), "notes from a");
    // A deletion spreads; a rename spreads as a rename.
    Deno.removeSync(join(a, kept[0]!));
    Deno.renameSync(join(b, "docs"), join(b, "documents"));
    r = await run();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summaryOf(r.stdout).deleted, 2);
    assert.equal(summaryOf(r.stdout).moved, 2, "the folder rename is a move in a and in S3");
    assert.equal(summaryOf(r.stdout).copied, 0);
    assert.deepEqual(listFiles(a), ["documents/plan.txt", "notes.txt"]);
    // A fresh folder mirrored with S3 alone shows what S3 holds.
    const c = join(dir, "c");
    const check = await ferry(["mirror", s3, c, ...S3, "--state", join(dir, "c.db")], { env });
    assert.equal(check.code, 0, check.stderr);
    assert.deepEqual(listFiles(c), ["documents/plan.txt", "notes.txt"]);
    // Unplugged: b is gone. It sits the round out; nothing is deleted anywhere.
    Deno.renameSync(b, join(dir, "b-away"));
    write(a, "new.txt", "new", t + 40_000);
    r = await run();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /is missing, but held 2 file\(s\)/);
    assert.equal(summaryOf(r.stdout).deleted, 0);
    assert.deepEqual(listFiles(a), ["documents/plan.txt", "new.txt", "notes.txt"]);
    // Back again: it catches up.
    Deno.renameSync(join(dir, "b-away"), b);
    r = await run();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(b), ["documents/plan.txt", "new.txt", "notes.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry mirror: a pair whose second folder is unplugged is refused with exit 3 and one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-mirror-" });
  try {
    const a = join(dir, "a");
    const b = join(dir, "b");
    write(a, "x.txt", "x");
    const state = join(dir, "s.db");
    assert.equal((await ferry(["mirror", a, b, "--state", state])).code, 0);
    Deno.removeSync(b, { recursive: true });
    const r = await ferry(["mirror", a, b, "--state", state]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /Only 1 of 2 locations can take part/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    assert.equal(read(a, "x.txt"), "x");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry mirror exit codes: a conflict whose loser is kept is exit 0; a file against a folder, left as it is, is exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-mirror-" });
  try {
    const a = join(dir, "a");
    const b = join(dir, "b");
    const t = Date.now() - 60_000;
    write(a, "notes.txt", "from a", t);
    write(b, "notes.txt", "from b", t + 1000);
    const run = () => ferry(["mirror", a, b, "--state", join(dir, "s.db"), "--json"]);
    let r = await run();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summaryOf(r.stdout).conflicts, 1);
    assert.equal(summaryOf(r.stdout).failed, 0);
    write(a, "both", "a file", t);
    write(b, "both/inside.txt", "in a folder", t);
    r = await run();
    assert.equal(r.code, 1, r.stderr);
    const clash = r.stdout.split("\n").filter((l) => l.includes('"event":"conflict"'));
    assert.equal(clash.length, 1, r.stdout);
    assert.match(JSON.parse(clash[0]!).message, /^is a file in ".*" and a folder in ".*"/);
    assert.equal(summaryOf(r.stdout).failed, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
Deno.test("ferry mirror --file: a location list with comments and the seed's forms; bad lists get one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-mirror-" });
  try {
    write(join(dir, "one"), "a.txt", "a");
    write(join(dir, "two"), "b.txt", "b");
    const list = join(dir, "places.txt");
    Deno.writeTextFileSync(
      list,
      `# the team's places\nfolder:${join(dir, "one")}\n\n${join(dir, "two")}   # the second\nzip:${
        join(dir, "three.zip")
      }\n`,
    );
    const r = await ferry(["mirror", "--file", list, "--state", join(dir, "s.db")]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(join(dir, "one")), ["a.txt", "b.txt"]);
    assert.deepEqual(listFiles(join(dir, "two")), ["a.txt", "b.txt"]);
    const unzip = await new Deno.Command("unzip", { args: ["-Z1", join(dir, "three.zip")] })
      .output();
    assert.deepEqual(new TextDecoder().decode(unzip.stdout).trim().split("\n").sort(), [
      "a.txt",
      "b.txt",
    ]);
    Deno.writeTextFileSync(list, `# only one\n${join(dir, "one")}\n`);
    for (
      const [args, want] of [
        [["mirror", "--file", list], /names 1 location\(s\): a mirror needs two or more/],
        [["mirror", "--file", join(dir, "nope.txt")], /Cannot read the location list/],
        [["mirror", join(dir, "one")], /needs at least two locations; got 1/],
        [["mirror"], /needs two or more locations, or --file/],
        [["mirror", "a", "b", "--delete"], /--delete does not apply to "ferry mirror"/],
        [["mirror", "a", "b", "--poll", "5"], /--poll goes with --watch/],
      ] as const
    ) {
      const bad = await ferry([...args]);
      assert.equal(bad.code, 2, `${args.join(" ")}: ${bad.stderr}`);
      assert.match(bad.stderr, want);
      assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry mirror on a terminal with no locations asks for them one by one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-mirror-" });
  try {
    write(join(dir, "p"), "p.txt", "p");
    const t = onTerminal(["mirror", "--state", join(dir, "s.db")]);
    const ask = (n: number) =>
      until(`asked for location ${n}`, () => t.screen().includes(`Location ${n} `));
    await ask(1);
    await t.type(join(dir, "p") + "\r");
    await ask(2);
    await t.type(join(dir, "q") + "\r");
    await ask(3);
    await t.type("end\r");
    assert.equal(await t.done(), 0, t.screen());
    assert.deepEqual(listFiles(join(dir, "q")), ["p.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Start `ferry` with `--watch`; what it prints is collected while it runs. */
const watching = (args: string[]) => running(args, env);

Deno.test("ferry mirror --watch: two folders kept in step as files change on each side; own writes not echoed; Ctrl-C exits 130", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-watch-" });
  const a = join(dir, "a");
  const b = join(dir, "b");
  write(a, "start.txt", "s");
  const w = watching(["mirror", a, b, "--watch", "-vv", "--state", join(dir, "s.db")]);
  try {
    await until("the first pass is done", () => read(b, "start.txt") === "s");
    await until("watching", () => w.stderr().includes("Watching 2 folder(s)"));
    write(a, "from-a.txt", "A");
    await until("a's new file reaches b", () => read(b, "from-a.txt") === "A");
    write(b, "sub/from-b.txt", "B");
    await until("b's new file reaches a", () => read(a, "sub/from-b.txt") === "B");
    Deno.removeSync(join(a, "start.txt"));
    await until("the deletion reaches b", () => read(b, "start.txt") === undefined);
    Deno.renameSync(join(b, "sub"), join(b, "moved"));
    await until("the rename reaches a", () => read(a, "moved/from-b.txt") === "B");
    // ferry's own writes were seen and not passed on: the folder move it made in a last of all.
    await until(
      "the echo of ferry's move is recognised",
      () => new RegExp(`Not passed on, ferry's own changes: .*${a}: moved`).test(w.stderr()),
    );
    // No change handed to the job was one of ferry's own (each would have made a pass).
    const handed = w.stderr().split("\n").filter((l) => l.startsWith("Changes: ")).join("\n");
    for (const own of [`${b}: from-a.txt`, `${a}: sub/from-b.txt`, `${b}: start.txt`]) {
      assert.ok(!handed.includes(own), `ferry's own write passed on: ${own}\n${handed}`);
    }
    assert.ok(!handed.includes(`${a}: moved`), handed);
    assert.match(handed, new RegExp(`${b}: moved`), "the user's rename was passed on");
  } finally {
    const code = await w.stop();
    assert.equal(code, 130, w.stderr());
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry mirror --watch outlives an unplugged location: it says so, deletes nothing, and catches up when it is back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-watch-" });
  const a = join(dir, "a");
  const b = join(dir, "b");
  write(a, "one.txt", "1");
  write(b, "two.txt", "2");
  const w = watching(["mirror", a, b, "--watch", "--poll", "1", "--state", join(dir, "s.db")]);
  try {
    await until("the first pass", () => read(a, "two.txt") === "2" && read(b, "one.txt") === "1");
    Deno.renameSync(b, join(dir, "b-away"));
    write(a, "three.txt", "3");
    await until("the refusal", () => w.stderr().includes("still watching"));
    assert.equal(read(a, "one.txt"), "1");
    assert.equal(read(a, "two.txt"), "2", "nothing deleted for the missing location");
    Deno.renameSync(join(dir, "b-away"), b);
    write(a, "four.txt", "4");
    await until("b catches up", () => read(b, "three.txt") === "3" && read(b, "four.txt") === "4");
  } finally {
    const code = await w.stop();
    assert.equal(code, 130, w.stderr());
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry mirror --watch with S3: a folder and a prefix kept in step both ways (S3 polled)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-watch-" });
  const a = join(dir, "a");
  const s3 = "s3://mirror/watched";
  write(a, "one.txt", "1");
  const w = watching([
    "mirror",
    a,
    s3,
    ...S3,
    "--watch",
    "--poll",
    "1",
    "--state",
    join(dir, "s.db"),
  ]);
  try {
    await until("watching", () => w.stderr().includes("every 1 s"));
    write(a, "two.txt", "2");
    // What S3 holds, seen through a second folder synced from it.
    const seen = join(dir, "seen");
    await until("the local file reaches S3", () => {
      return readS3(s3, seen, "two.txt") === "2";
    });
    // A change made in S3 (by another machine: here a one-way sync into it) comes down.
    const other = join(dir, "other");
    write(other, "three.txt", "3");
    const up = await ferry(["sync", other, s3, ...S3, "--state", join(dir, "o.db")], { env });
    assert.equal(up.code, 0, up.stderr);
    await until("S3's new file reaches the folder", () => read(a, "three.txt") === "3");
  } finally {
    const code = await w.stop();
    assert.equal(code, 130, w.stderr());
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry sync --watch: new, changed and deleted files in the source reach the destination as they happen", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-watch-" });
  const src = join(dir, "src");
  const dst = join(dir, "dst");
  write(src, "a.txt", "a");
  const w = watching(["sync", src, dst, "--delete", "--watch", "--state", join(dir, "s.db")]);
  try {
    await until("the first pass", () => read(dst, "a.txt") === "a");
    write(src, "deep/b.txt", "b");
    await until("the new file", () => read(dst, "deep/b.txt") === "b");
    write(src, "a.txt", "a, changed");
    await until("the change", () => read(dst, "a.txt") === "a, changed");
    Deno.removeSync(join(src, "deep/b.txt"));
    await until("the deletion", () => read(dst, "deep/b.txt") === undefined);
  } finally {
    const code = await w.stop();
    assert.equal(code, 130, w.stderr());
    await Deno.remove(dir, { recursive: true });
  }
});

/** A file in an S3 location as of now, fetched by a one-way sync into `into` (blocking). */
function readS3(s3: string, into: string, rel: string): string | undefined {
  const out = new Deno.Command(Deno.execPath(), {
    args: ferryArgs(["sync", s3, into, ...S3, "-q", "--state", into + ".db"]),
    env: testEnv(env),
  }).outputSync();
  if (out.code !== 0) return undefined;
  return read(into, rel);
}

Deno.test({
  name: "s3rver stops (mirror CLI)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => server.stop(),
});

Deno.test("the README's demo runs as written: a sync, a rename synced as a move, and a mirror with a conflict kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-demo-" });
  try {
    const demo = new URL("../../scripts/demo.ts", import.meta.url).pathname;
    const config = new URL("../../deno.json", import.meta.url).pathname;
    const run = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", config, "--cached-only", demo],
        cwd: dir,
        env: testEnv(),
      }).output();
    // Twice: a second demo starts afresh (its mirror's state is in ./sample with the rest).
    let out = await run();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    out = await run();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /move photos -> pictures \(2 files\)/);
    assert.match(text, /Mirrored .* 1 conflicts/);
    const laptop = listFiles(join(dir, "sample", "laptop"));
    assert.equal(
      laptop.filter((f) => /^notes\.conflict-\d{8}-\d{6}-replica\.txt$/.test(f)).length,
      1,
    );
    assert.equal(
      read(join(dir, "sample", "replica"), "notes.txt"),
      "edited on the laptop, later\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
