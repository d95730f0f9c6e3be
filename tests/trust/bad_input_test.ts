/**
 * The bad-input suite: a table of mistakes a user can make (malformed locations of every
 * kind, flags, nested and linked locations, unreadable and unwritable places, odd names),
 * each with its exit code, the first words of its one line on stderr, no stack trace, and
 * nothing changed anywhere: no file or folder made, changed or removed (ferry's own `.ferry/`
 * folder aside, where a refused run logs why).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { denoDir, ferry } from "../cli/_run.ts";

interface Case {
  args: string[];
  code: number;
  says: RegExp;
}

/** Every file and folder below `root` with size and time, ferry's own folder left out. */
function snapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.name === ".ferry") continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = Deno.lstatSync(join(dir, e.name));
      // A folder's own time changes when ferry makes its .ferry folder inside: not counted.
      out.push(e.isDirectory ? `${r}/` : `${r} ${st.size} ${st.mtime?.getTime()}`);
      if (e.isDirectory) walk(join(dir, e.name), r);
    }
  };
  walk(root, "");
  return out.sort();
}

Deno.test("bad input: every mistake gets its exit code and one clear line, and changes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-bad-" });
  const home = await Deno.makeTempDir({ prefix: "ferry-home-" });
  try {
    const src = join(dir, "src");
    const dst = join(dir, "dst");
    const empty = join(dir, "empty");
    await Deno.mkdir(join(src, "sub"), { recursive: true });
    await Deno.mkdir(dst);
    await Deno.mkdir(empty);
    await Deno.writeTextFile(join(src, "a.txt"), "a");
    await Deno.writeTextFile(join(src, "sub", "b.txt"), "b");
    await Deno.writeTextFile(join(dst, "old.txt"), "old");
    await Deno.writeTextFile(join(dir, "afile"), "not a folder");
    await Deno.writeTextFile(join(dir, "junk.db"), "this is not SQLite");
    await Deno.writeTextFile(join(dir, "junk.zip"), "this is not a ZIP archive");
    await Deno.symlink(src, join(dir, "srclink"));
    const s3 = ["--endpoint", "http://127.0.0.1:9", "--path-style"];
    const cases: Case[] = [
      { args: ["bogus"], code: 2, says: /Unknown command "bogus"/ },
      { args: ["sync"], code: 2, says: /takes two locations/ },
      { args: ["sync", src], code: 2, says: /takes two locations/ },
      { args: ["sync", src, dst, "extra"], code: 2, says: /takes two locations/ },
      { args: ["sync", src, dst, "--bogus"], code: 2, says: /Unknown option "--bogus"/ },
      { args: ["sync", src, dst, "--interval", "-5"], code: 2, says: /--interval takes a whole/ },
      { args: ["sync", src, dst, "--interval", "soon"], code: 2, says: /--interval takes/ },
      { args: ["sync", src, dst, "--interval", "0"], code: 2, says: /--interval takes/ },
      { args: ["sync", src, dst, "--interval"], code: 2, says: /--interval/ },
      { args: ["sync", src, dst, "--max-delete", "150%"], code: 2, says: /--max-delete takes/ },
      { args: ["sync", src, dst, "--max-delete", "lots"], code: 2, says: /--max-delete takes/ },
      { args: ["sync", src, dst, "--transfers", "0"], code: 2, says: /--transfers takes/ },
      { args: ["sync", src, dst, "-q", "-v"], code: 2, says: /-q and -v contradict/ },
      {
        args: ["sync", src, dst, "--watch", "-n"],
        code: 2,
        says: /--watch and --dry-run contradict/,
      },
      { args: ["sync", src, dst, "--poll", "5"], code: 2, says: /--poll goes with --watch/ },
      { args: ["sync", src, dst, "--watch", "--poll", "0"], code: 2, says: /--poll takes/ },
      { args: ["status", src, dst, "--watch"], code: 2, says: /does not apply/ },
      { args: ["mirror", src, dst, "--delete"], code: 2, says: /does not apply/ },
      { args: ["mirror", src], code: 2, says: /at least two locations/ },
      { args: ["mirror", src, src], code: 2, says: /are the same place/ },
      { args: ["mirror", src, join(dir, "afile")], code: 2, says: /is a file, not a folder/ },
      {
        args: ["mirror", "--file", join(src, "nope")],
        code: 2,
        says: /Cannot read the location list/,
      },
      { args: ["status", src, dst, "--interval", "5"], code: 2, says: /does not take --interval/ },
      { args: ["sync", src, dst, "--tier", "bulk"], code: 2, says: /does not apply/ },
      { args: ["sync", "", dst], code: 2, says: /Empty location/ },
      { args: ["sync", src, src], code: 2, says: /are the same place/ },
      { args: ["sync", src, join(src, "sub")], code: 2, says: /are nested/ },
      { args: ["sync", join(src, "sub"), src], code: 2, says: /are nested/ },
      { args: ["sync", join(dir, "srclink"), src], code: 2, says: /are the same place/ },
      { args: ["sync", src, join(dir, "srclink", "deeper")], code: 2, says: /are nested/ },
      { args: ["sync", join(dir, "nope"), dst], code: 3, says: /does not exist/ },
      { args: ["sync", src, join(dir, "media", "usb", "x")], code: 3, says: /unplugged/ },
      { args: ["sync", empty, dst, "--delete"], code: 3, says: /is empty: refusing to delete/ },
      {
        args: ["sync", src, dst, "--delete", "--max-delete", "0"],
        code: 3,
        says: /Refusing to delete 1/,
      },
      { args: ["sync", src, join(dir, "afile")], code: 2, says: /is not a folder/ },
      { args: ["sync", join(dir, "afile"), dst], code: 2, says: /is not a folder/ },
      { args: ["sync", "FTP://u:pw1@127.0.0.1:9/x", dst], code: 2, says: /nothing answers at/ },
      { args: ["sync", src, "ftp://u:pw1@127.0.0.1:9/x"], code: 2, says: /nothing answers at/ },
      { args: ["sync", src, "ftp://u@127.0.0.1:9/x"], code: 2, says: /No password for/ },
      {
        args: ["sync", "ftp://u:pw1@127.0.0.1:9/a/", "ftp:other:pw2@127.0.0.1:9/a"],
        code: 2,
        says: /are the same place/,
      },
      {
        args: ["sync", "ftp://u:pw1@127.0.0.1:9/a", "ftps://u:pw1@127.0.0.1:9/a/b"],
        code: 2,
        says: /are nested/,
      },
      {
        args: ["sync", src, "ftp://u:pw1@127.0.0.1:9/x", "--ftp-connections", "lots"],
        code: 2,
        says: /--ftp-connections takes a whole number/,
      },
      {
        args: ["sync", src, "ftp://u:pw1@no-such-host.invalid/x"],
        code: 2,
        says: /no host named "no-such-host.invalid"|nothing answers/,
      },
      { args: ["sync", "sftp://u:pw@host/x", dst], code: 2, says: /Unknown location kind "sftp:"/ },
      { args: ["sync", src, "s3://u:pw@bucket"], code: 2, says: /holds credentials/ },
      { args: ["sync", src, "s3://"], code: 2, says: /is malformed/ },
      { args: ["sync", src, "s3://b"], code: 2, says: /names no valid bucket/ },
      { args: ["sync", src, "s3://my bucket/x"], code: 2, says: /names no valid bucket/ },
      {
        args: ["sync", src, "s3://bucket", "--endpoint", "notaurl"],
        code: 2,
        says: /is not a URL/,
      },
      {
        args: ["sync", src, "s3://bucket", "--endpoint", "http://127.0.0.1:99999"],
        code: 2,
        says: /has port 99999/,
      },
      {
        args: ["sync", src, "s3://bucket", "--endpoint", "http://key:secret@127.0.0.1:9"],
        code: 2,
        says: /holds credentials/,
      },
      { args: ["sync", src, "s3://bucket", ...s3], code: 2, says: /Cannot reach the endpoint/ },
      {
        args: ["sync", src, "s3://bucket/p", "s3://bucket/p/sub"].slice(0, 3).concat(s3),
        code: 2,
        says: /Cannot reach/,
      },
      { args: ["sync", "s3://bucket/p", "s3://bucket/p/sub", ...s3], code: 2, says: /are nested/ },
      { args: ["sync", "s3://bucket/x", "s3://bucket/x", ...s3], code: 2, says: /same place/ },
      { args: ["sync", src, "zip:"], code: 2, says: /names no archive/ },
      {
        args: ["sync", src, `zip:${join(dir, "junk.zip")}`],
        code: 2,
        says: /is not a ZIP archive/,
      },
      {
        args: ["sync", `zip:${join(dir, "junk.zip")}`, dst],
        code: 2,
        says: /is not a ZIP archive/,
      },
      { args: ["sync", src, `zip:${dir}`], code: 2, says: /is not a file/ },
      {
        args: ["sync", src, "ftp://host:70000/x"],
        code: 2,
        says: /has an invalid port "70000": a port is a number from 1 to 65535/,
      },
      { args: ["sync", src, "ftp://host:0/x"], code: 2, says: /has an invalid port "0"/ },
      { args: ["sync", src, "ftp:nouser-or-host"], code: 2, says: /is malformed/ },
      { args: ["sync", src, dst, "--state", dir], code: 2, says: /it is a folder/ },
      {
        args: ["sync", src, dst, "--state", join(dir, "junk.db")],
        code: 2,
        says: /not a ferry state database/,
      },
      {
        args: ["sync", src, dst, "--log-file", join(dir, "afile", "x.log")],
        code: 2,
        says: /Cannot write the log file/,
      },
      { args: ["restore", src], code: 2, says: /takes an s3:\/\/ or wasabi:\/\/ location/ },
      { args: ["restore", "s3://bucket", "--tier", "fast"], code: 2, says: /--tier takes/ },
      { args: ["versioning", "s3://bucket", "maybe"], code: 2, says: /takes on or off/ },
      { args: ["get", "s3://bucket", "a.txt"], code: 2, says: /version-id/ },
      { args: ["check", src], code: 2, says: /takes two locations/ },
      { args: ["check", src, src], code: 2, says: /are the same place/ },
      { args: ["check", join(dir, "nope"), dst], code: 3, says: /does not exist/ },
    ];
    const env = {
      HOME: home,
      DENO_DIR: await denoDir(), // the cache, which lives under HOME by default
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "example-secret-key",
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const before = snapshot(dir);
    const problems: string[] = [];
    for (const c of cases) {
      const r = await ferry(c.args, { env, cwd: dir });
      const lines = r.stderr.trim().split("\n").filter((l) => l !== "");
      const label = `ferry ${c.args.join(" ")}`;
      if (r.code !== c.code) problems.push(`${label}: exit ${r.code}, want ${c.code}: ${r.stderr}`);
      else if (!c.says.test(r.stderr)) problems.push(`${label}: said ${JSON.stringify(r.stderr)}`);
      else if (lines.length !== 1) problems.push(`${label}: ${lines.length} lines: ${r.stderr}`);
      else if (!/^ferry: error: /.test(lines[0]!)) problems.push(`${label}: prefix: ${lines[0]}`);
      else if (/^\s+at /m.test(r.stderr)) problems.push(`${label}: a stack trace`);
      const now = snapshot(dir);
      if (JSON.stringify(now) !== JSON.stringify(before)) {
        problems.push(
          `${label}: changed ${JSON.stringify(now.filter((l) => !before.includes(l)))}`,
        );
        break;
      }
    }
    assert.ok(cases.length >= 40, `${cases.length} cases`);
    assert.deepEqual(problems, []);
    // With no arguments, the overview goes to stderr and the exit code is 2.
    const none = await ferry([], { env });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^ferry \d/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});
