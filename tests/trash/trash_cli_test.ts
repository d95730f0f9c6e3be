/**
 * `ferry trash` end to end on the remote kinds, as a user runs it: a `sync --delete` into an S3
 * prefix (s3rver), an FTP server (ftp-srv) and a ZIP archive deletes one file and overwrites
 * another; `trash list` shows both, `trash restore --to` the source brings each back, and the
 * next sync spreads them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startS3rver } from "../servers/s3rver.ts";
import { startFtpSrv } from "../servers/ftp.ts";
import { ferry, scratch } from "../cli/_run.ts";

const s3 = await startS3rver(["trashcli"]);
const ftp = await startFtpSrv();
const S3_ENV = {
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  AWS_REGION: "us-east-1",
};
const T = Date.UTC(2026, 0, 1);

async function roundTrip(
  dst: string,
  flags: string[],
  env: Record<string, string>,
  timed: boolean,
) {
  const s = await scratch({ "docs/a.txt": "first a", "b.txt": "first b" });
  try {
    const run = (args: string[]) => ferry([...args, ...flags], { env });
    await Deno.utime(join(s.src, "docs", "a.txt"), new Date(T), new Date(T));
    let r = await run(["sync", s.src, dst, "-q"]);
    assert.equal(r.code, 0, r.stderr);
    await Deno.remove(join(s.src, "docs", "a.txt"));
    await Deno.writeTextFile(join(s.src, "b.txt"), "second b, longer");
    r = await run(["sync", s.src, dst, "--delete", "--yes", "-q"]);
    assert.equal(r.code, 0, r.stderr);
    r = await run(["trash", "list", dst, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const items = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(items.map((i) => [i.path, i.why, i.size]), [
      ["b.txt", "overwritten", 7],
      ["docs/a.txt", "deleted", 7],
    ]);
    r = await run(["trash", "restore", dst, "docs/a.txt", "--to", s.src]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(join(s.src, "docs", "a.txt")), "first a");
    if (timed) assert.equal((await Deno.stat(join(s.src, "docs", "a.txt"))).mtime?.getTime(), T);
    r = await run(["trash", "restore", dst, "b.txt", "--to", s.src, "--force"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(join(s.src, "b.txt")), "first b");
    r = await run(["sync", s.src, dst, "--delete", "--yes", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const sum = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual([sum.copied, sum.updated], [1, 1]);
    // What the destination holds now, read back through ferry.
    const back = join(s.dir, "back");
    r = await run(["sync", dst, back, "-q"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(join(back, "docs", "a.txt")), "first a");
    assert.equal(await Deno.readTextFile(join(back, "b.txt")), "first b");
  } finally {
    await s.cleanup();
  }
}

Deno.test("ferry trash on S3: list, restore --to the source, the next sync spreads it", async () => {
  await roundTrip("s3://trashcli/job", ["--endpoint", s3.endpoint, "--path-style"], S3_ENV, true);
});

Deno.test("ferry trash on FTP: list, restore --to the source, the next sync spreads it", async () => {
  // ftp-srv keeps no time it is given: the restored file has the server's.
  await roundTrip(`${ftp.url}${ftp.base}/job`, [], {}, false);
});

Deno.test("ferry trash in a ZIP archive: list, restore --to the source, the next sync spreads it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-trash-zip-" });
  try {
    await roundTrip(`zip:${join(dir, "backup.zip")}`, [], {}, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "ferry trash CLI: stop the servers",
  fn: async () => {
    await s3.stop();
    await ftp.stop();
  },
  sanitizeOps: false,
  sanitizeResources: false,
});
