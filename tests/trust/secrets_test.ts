/**
 * The secrets suite: every command, given passwords in its locations (every scheme and
 * spelling) and keys in the environment, at `-vv` and with `--json`, prints, logs and stores
 * none of them: stdout, stderr, log files and state databases are searched byte by byte.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { denoDir, ferry } from "../cli/_run.ts";

/** Every file below `root`, read as bytes, decoded loosely (a state database is binary). */
function allText(root: string): string {
  let text = "";
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) walk(p);
      else if (e.isFile) {
        text += `\n${p}\n` + new TextDecoder("latin1").decode(Deno.readFileSync(p));
      }
    }
  };
  walk(root);
  return text;
}

Deno.test("secrets: no password or key appears in any output, log or state, whatever the spelling", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-secrets-" });
  try {
    const src = join(dir, "src");
    await Deno.mkdir(src);
    await Deno.writeTextFile(join(src, "a.txt"), "a");
    const pw = ["Pw1Secret", "p/w@Secret2", "Secret3Ftps", "Secret4Old", "Secret5Sftp"];
    const env = {
      HOME: dir,
      DENO_DIR: await denoDir(),
      XDG_STATE_HOME: join(dir, "state-home"),
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "EnvSecretKey6",
      AWS_SESSION_TOKEN: "EnvSessionToken7",
      FERRY_FTP_PASSWORD: "EnvFtpPassword8",
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const secrets = [
      ...pw,
      "EnvSecretKey6",
      "EnvSessionToken7",
      "EnvFtpPassword8",
      "EndpointSecret9",
    ];
    const locations = [
      `ftp://me:${pw[0]}@127.0.0.1:1/x`,
      `FTP://me:${pw[0]}@127.0.0.1:1/x`,
      `Ftp://me:${encodeURIComponent(pw[1]!)}@127.0.0.1:1/x`,
      `ftp://me:${pw[1]}@127.0.0.1:1/x`,
      `ftps://me:${pw[2]}@127.0.0.1:1/x`,
      `FTPS://me:${pw[2]}@[::1]:1/x`,
      `ftp:me:${pw[3]}@127.0.0.1/x`,
      `FTP:me:${pw[3]}@127.0.0.1/x`,
      `sftp://me:${pw[4]}@127.0.0.1/x`,
      `SFTP://me:${pw[4]}@127.0.0.1/x`,
      `s3://me:${pw[0]}@bucket/x`,
      `S3://me:${pw[0]}@bucket/x`,
      `wasabi://me:${pw[0]}@bucket`,
    ];
    const s3 = ["--endpoint", "http://127.0.0.1:9", "--path-style"];
    const runs: string[][] = [];
    for (const loc of locations) {
      for (const mode of [["-vv"], ["--json"], ["-vv", "--json"]]) {
        runs.push(["sync", src, loc, ...mode, "--log-file", join(dir, "logs") + "/"]);
        runs.push(["sync", loc, join(dir, "out"), ...mode]);
        runs.push(["status", src, loc, ...mode]);
        runs.push(["check", src, loc, ...mode]);
      }
    }
    const endpoint = "http://key:EndpointSecret9@127.0.0.1:9";
    for (const mode of [["-vv"], ["--json"]]) {
      runs.push(["sync", src, "s3://bucket/p", "--endpoint", endpoint, ...mode]);
      runs.push([
        "sync",
        src,
        "s3://bucket/p",
        ...s3,
        ...mode,
        "--log-file",
        join(dir, "logs") + "/",
      ]);
      runs.push(["restore", "s3://bucket/p", ...s3, ...mode]);
      runs.push(["versions", "s3://bucket/p", "a.txt", ...s3, ...mode]);
      // A run that works: its log and state are searched too.
      runs.push(["sync", src, join(dir, "copy"), ...mode]);
    }
    let printed = "";
    for (const args of runs) {
      const r = await ferry(args, { env, cwd: dir });
      printed += `\n$ ferry ${args.join(" ")}\n${r.stdout}\n${r.stderr}`;
      if (!args.includes("-vv")) {
        assert.doesNotMatch(
          r.stderr,
          /^\s+at .*\(/m,
          `a stack trace without -vv: ${args.join(" ")}`,
        );
      }
    }
    assert.match(printed, /me:\*\*\*@127\.0\.0\.1/, "locations are shown, masked");
    const stored = allText(dir);
    assert.match(stored, /state\.db/, "a state database was written and searched");
    assert.match(stored, /ferry-sync-/, "log files were written and searched");
    for (const s of secrets) {
      // The command lines above hold the secrets; what ferry printed and wrote must not.
      const leaks = printed.split("\n").filter((l) => !l.startsWith("$ ferry") && l.includes(s));
      assert.deepEqual(leaks, [], `"${s}" printed`);
      const at = stored.indexOf(s);
      assert.equal(at, -1, `"${s}" stored: ${stored.slice(Math.max(0, at - 200), at + 50)}`);
    }
    assert.ok(runs.length >= 150, `${runs.length} runs`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Locations that do not parse, each holding the password "SeCrEt123" (or a spelling of it). */
const UNPARSED = [
  "ftp://u:SeCrEt123@/x",
  "ftp://u:SeCrEt123@",
  "FTPS://u:SeCrEt123@:99/x",
  "ftp://u:SeCrEt123@h:99999/x",
  "ftp://u:SeCrEt123@h/%zz",
  "ftp://u:Se cret123@/x",
  "ftp://u:p@SeCrEt123@/x",
  "ftp://u:SeCrEt123/x",
  "ftp://[::1]:SeCrEt123/x",
  "ftp:u:SeCrEt123@/x",
  "ftp:u:SeCrEt123",
  "ftps:u:SeCrEt123@",
  "s3://u:SeCrEt123@/x",
  "s3://u:SeCrEt123@",
  "S3://u:Se/cret123@/x",
  "wasabi://u:SeCrEt123@/x",
  "sftp://u:SeCrEt123@/x",
  "sftp:u:SeCrEt123@/x",
  "webdav://u:SeCrEt123@h/x",
  "file://u:SeCrEt123@/x",
  "file://u:SeCrEt123@h/x",
];

Deno.test("secrets: a location that does not parse is quoted with its password masked", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-secrets-" });
  try {
    const env = { HOME: dir, DENO_DIR: await denoDir(), XDG_STATE_HOME: join(dir, "state") };
    for (const loc of UNPARSED) {
      for (const args of [["sync", dir, loc], ["mirror", loc, dir, "--json"]]) {
        const r = await ferry(args, { env, cwd: dir });
        const shown = `ferry ${args.join(" ")}:\n${r.stdout}${r.stderr}`;
        assert.equal(r.code, 2, shown);
        if (args.includes("--json")) {
          assert.match(r.stdout, /"event":"error","message":"[^\n]*:[^\n]*\*\*\*/, shown);
        } else {
          assert.match(r.stderr, /^[^\n]*"[a-zA-Z0-9]+:[^"]*\*\*\*[^"]*"[^\n]*\n$/, shown);
        }
        for (const s of ["SeCrEt123", "Se cret123", "Se/cret123", "cret123"]) {
          assert.ok(!(r.stdout + r.stderr).includes(s), `"${s}" printed by ${shown}`);
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
