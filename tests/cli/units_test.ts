import { describeError } from "../../lib/errors.ts";
import { formatBytes, formatDuration } from "../../lib/cli/output.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseMaxDelete } from "../../lib/cli/args.ts";
import { tryLock } from "../../lib/cli/lock.ts";
import { fileStamp, LogFile, pruneLogs, resolveLogPath } from "../../lib/cli/log_file.ts";
import { chooseStateHome } from "../../lib/cli/state_path.ts";
import { mask, parseLocation } from "../../lib/location.ts";

Deno.test("parseLocation() reads every form PRODUCT.md lists and masks passwords", () => {
  assert.deepEqual(parseLocation("./dir"), { kind: "local", path: "./dir", text: "./dir" });
  assert.equal(parseLocation("folder:/data").kind, "local");
  assert.equal(parseLocation("C:\\Users\\me").kind, "local");
  assert.equal(parseLocation("file:///tmp/x%20y").kind, "local");
  assert.equal(
    (parseLocation("file:///tmp/x%20y") as { path: string }).path,
    Deno.build.os === "windows" ? "/tmp/x y" : "/tmp/x y",
  );
  assert.deepEqual(parseLocation("zip:backups/a.zip"), {
    kind: "zip",
    path: "backups/a.zip",
    text: "zip:backups/a.zip",
  });
  const ftp = parseLocation("ftp://me:s%40cret@host:2121/pub/dir");
  assert.equal(ftp.kind, "ftp");
  assert.equal(ftp.text, "ftp://me:***@host:2121/pub/dir");
  assert.ok(
    ftp.kind === "ftp" && ftp.password === "s@cret" && ftp.port === 2121 && ftp.path === "/pub/dir",
  );
  const old = parseLocation("ftp:admin:1234@192.168.1.20/files");
  assert.ok(
    old.kind === "ftp" && old.user === "admin" && old.password === "1234" &&
      old.host === "192.168.1.20",
  );
  assert.equal(old.text, "ftp:admin:***@192.168.1.20/files");
  assert.deepEqual(parseLocation("s3://bucket/pre/fix/"), {
    kind: "s3",
    bucket: "bucket",
    prefix: "pre/fix",
    text: "s3://bucket/pre/fix/",
  });
  assert.throws(() => parseLocation("gopher://x"), /Unknown location kind/);
  assert.throws(() => parseLocation(""), /Empty location/);
  assert.equal(mask("ftps://u:p@h/x"), "ftps://u:***@h/x");
});

Deno.test("parseMaxDelete() takes counts and percentages only", () => {
  assert.deepEqual(parseMaxDelete("20"), { count: 20 });
  assert.deepEqual(parseMaxDelete("50%"), { percent: 50 });
  assert.throws(() => parseMaxDelete("150%"));
  assert.throws(() => parseMaxDelete("-1"));
  assert.throws(() => parseMaxDelete("some"));
});

Deno.test("tryLock() lets one holder in at a time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = tryLock(join(dir, "state.db"));
    assert.ok(a);
    // A second process must be refused while the first holds it.
    const probe = `const f = Deno.openSync(${
      JSON.stringify(join(dir, "state.db.lock"))
    }, { read: true, write: true }); console.log(f.tryLockSync(true));`;
    const held = await new Deno.Command(Deno.execPath(), { args: ["eval", probe] }).output();
    assert.equal(new TextDecoder().decode(held.stdout).trim(), "false");
    a.release();
    const free = await new Deno.Command(Deno.execPath(), { args: ["eval", probe] }).output();
    assert.equal(new TextDecoder().decode(free.stdout).trim(), "true");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pruneLogs() removes ferry's logs older than the age limit beyond the newest ones, nothing else", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const day = 86_400_000;
    const now = new Date(2026, 10, 21, 12, 0, 0).getTime();
    const put = (name: string) => Deno.writeTextFileSync(join(dir, name), "x");
    // Six ferry logs whose names say 0..50 days old, and files that only look alike (old
    // modification times do not matter: the age is the one in the name).
    const names = [0, 10, 20, 30, 40, 50].map((age) => {
      const name = `ferry-sync-${fileStamp(new Date(now - age * day))}.log`;
      put(name);
      return name;
    });
    put("ferry-sync-notes.log");
    put("mine.log");
    const old = new Date(now - 90 * day);
    Deno.utimeSync(join(dir, "mine.log"), old, old);
    assert.equal(pruneLogs(dir, 2, 30, now), 2, "only the 40- and 50-day-old logs go");
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left, [...names.slice(0, 4), "ferry-sync-notes.log", "mine.log"].sort());
    // The newest are kept whatever their age.
    assert.equal(pruneLogs(dir, 10, 0, now + 365 * day), 0);
    assert.equal(pruneLogs(join(dir, "missing"), 2, 30, now), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LogFile recreates a log folder deleted mid-run; --log-file folders get stamped names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const folder = join(dir, "logs");
    const path = resolveLogPath(folder + "/", "sync");
    assert.match(path, /ferry-sync-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.log$/);
    const log = new LogFile(path);
    log.keep();
    log.write("first");
    log.flush();
    await Deno.remove(folder, { recursive: true });
    log.write("second\nline");
    log.flush();
    const text = await Deno.readTextFile(path);
    assert.match(text, /second\\nline/);
    assert.equal(resolveLogPath(join(dir, "plain.log"), "sync"), join(dir, "plain.log"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LogFile writes nothing for a pass that changed nothing, and checks it can write first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "run.log");
    const quiet = new LogFile(path);
    assert.equal(quiet.check(), undefined);
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound, "check() leaves no file");
    quiet.write("START");
    quiet.write("SUMMARY nothing");
    quiet.discard();
    quiet.flush();
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound, "a no-op pass writes no log");
    quiet.write("START");
    quiet.keep();
    quiet.write("copy a");
    quiet.flush();
    assert.match(await Deno.readTextFile(path), /START[\s\S]*copy a/);
    assert.match(new LogFile(dir).check() ?? "", /folder/);
    // Permission bits stop a writer on POSIX systems, for users other than root.
    if (Deno.build.os !== "windows" && Deno.uid() !== 0) {
      await Deno.mkdir(join(dir, "ro"), { mode: 0o500 });
      assert.match(new LogFile(join(dir, "ro", "x.log")).check() ?? "", /denied/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("chooseStateHome() uses .ferry at a writable local source, else a folder of the job's in the platform folder, never the destination", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const home = await chooseStateHome(
      [parseLocation(dir), parseLocation(join(dir, "other"))],
      true,
    );
    assert.equal(home.db, join(dir, ".ferry", "state.db"));
    const none = await chooseStateHome([
      parseLocation("s3://bucket/x"),
      parseLocation(join(dir, "missing")),
    ], false);
    assert.match(none.db, /ferry[\\/]sync-[0-9a-f]{16}[\\/]state\.db$/);
    // A destination that could hold it does not: it may be unplugged.
    const remote = await chooseStateHome(
      [parseLocation("s3://bucket/x"), parseLocation(dir)],
      false,
    );
    assert.match(remote.db, /ferry[\\/]sync-[0-9a-f]{16}[\\/]state\.db$/);
    assert.ok(!remote.db.startsWith(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openLocation() derives Wasabi's endpoint from the region and refuses a bad --endpoint", async () => {
  const { openLocation } = await import("../../lib/backends/open.ts");
  const { wasabiEndpoint } = await import("../../lib/backends/s3/kind.ts");
  assert.equal(wasabiEndpoint("eu-central-1"), "https://s3.eu-central-1.wasabisys.com");
  const w = await openLocation(parseLocation("wasabi://bucket/docs"), { region: "eu-central-1" });
  assert.equal(w.id, "s3:https://s3.eu-central-1.wasabisys.com/bucket/docs");
  await w.close();
  const d = await openLocation(parseLocation("wasabi://bucket"));
  assert.equal(d.id, "s3:https://s3.us-east-1.wasabisys.com/bucket/");
  await d.close();
  await assert.rejects(
    openLocation(parseLocation("s3://bucket"), { endpoint: "localhost:9000" }),
    /is not a URL/,
  );
});

Deno.test("D18: the progress line shows rounded bytes and a readable ETA", () => {
  assert.equal(formatBytes(423.1155204443711), "423 B");
  assert.equal(formatBytes(1_500_000), "1.5 MB");
  assert.equal(formatDuration(65), "1:05");
  assert.equal(formatDuration(23634 * 60 + 13), "393:54:13");
  assert.equal(formatDuration(-3), "0:00");
});

Deno.test("D18: file errors read as plain words with the path, not the OS's number", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "f"), "x");
    const said = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        return describeError(err);
      }
      return "";
    };
    assert.match(said(() => Deno.mkdirSync(join(dir, "f"))), /^something is already there \(mkdir/);
    // Windows reports a path through a file as a path not found (ERROR_PATH_NOT_FOUND).
    assert.match(
      said(() => Deno.mkdirSync(join(dir, "f", "sub"))),
      Deno.build.os === "windows" ? /^not found \(mkdir/ : /^a file stands where a folder/,
    );
    assert.match(said(() => Deno.readFileSync(join(dir, "none"))), /^not found \(/);
    assert.doesNotMatch(said(() => Deno.mkdirSync(join(dir, "f"))), /os error/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
