/**
 * The `ferry` command against S3 (s3rver on 127.0.0.1), as a user runs it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startS3rver } from "../servers/s3rver.ts";
import { denoDir, ferry, listFiles, scratch } from "./_run.ts";

const server = await startS3rver(["cli"]);
const S3 = ["--endpoint", server.endpoint, "--path-style"];
const env = {
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  AWS_REGION: "us-east-1",
};

function events(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

Deno.test("ferry sync to S3 with a prefix, a no-op rerun, a folder rename done server-side, and back", async () => {
  const s = await scratch({
    "notes.txt": "n",
    "photos/2024/a.jpg": "aaaa",
    "photos/2024/b.jpg": "bbbb",
  });
  try {
    const to = "s3://cli/backups/volume1";
    const first = await ferry(["sync", s.src, to, ...S3, "--json"], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(events(first.stdout).at(-1)!.copied, 3);
    const again = await ferry(["sync", s.src, to, ...S3, "--json"], { env });
    const sum = events(again.stdout).at(-1)!;
    assert.deepEqual([sum.copied, sum.updated, sum.moved, sum.deleted, sum.bytes], [0, 0, 0, 0, 0]);

    await Deno.rename(join(s.src, "photos"), join(s.src, "pictures"));
    const dry = await ferry(["sync", s.src, to, ...S3, "--delete", "--dry-run"], { env });
    assert.match(dry.stdout, /would move photos -> pictures \(2 files\)/);
    const moved = await ferry(["sync", s.src, to, ...S3, "--delete", "--json"], { env });
    assert.equal(moved.code, 0, moved.stderr);
    const ev = events(moved.stdout);
    assert.ok(ev.some((e) => e.event === "move" && e.from === "photos" && e.path === "pictures"));
    const msum = ev.at(-1)!;
    assert.deepEqual([msum.moved, msum.copied, msum.bytes], [2, 0, 0]);

    const status = await ferry(["status", s.src, to, ...S3, "--delete"], { env });
    assert.match(status.stdout, /in step, nothing to do/);

    const back = join(s.dir, "restored");
    const r = await ferry(["sync", to, back, ...S3], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(back), ["notes.txt", "pictures/2024/a.jpg", "pictures/2024/b.jpg"]);
    assert.equal(await Deno.readTextFile(join(back, "pictures/2024/b.jpg")), "bbbb");
    const mt = (p: string) => Deno.statSync(p).mtime!.getTime();
    assert.equal(mt(join(back, "notes.txt")), mt(join(s.src, "notes.txt")));
  } finally {
    await s.cleanup();
  }
});

Deno.test("ferry sync reads credentials from a --profile in ~/.aws/credentials", async () => {
  const s = await scratch({ "a.txt": "a" });
  try {
    const home = join(s.dir, "home");
    await Deno.mkdir(join(home, ".aws"), { recursive: true });
    await Deno.writeTextFile(
      join(home, ".aws", "credentials"),
      "[backup]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n",
    );
    const r = await ferry(["sync", s.src, "s3://cli/profiled", ...S3, "--profile", "backup"], {
      env: {
        HOME: home,
        DENO_DIR: await denoDir(), // it lives under HOME by default
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "",
        AWS_SECRET_ACCESS_KEY: "",
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 file copied/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("S3 mistakes get one line and exit 2: missing bucket, unreachable endpoint, bad flags", async () => {
  const s = await scratch({ "a.txt": "a" });
  try {
    const cases: [string[], RegExp][] = [
      [
        ["sync", s.src, "s3://no-such-bucket/x", ...S3],
        /Bucket of "s3:\/\/no-such-bucket\/x" does not exist/,
      ],
      [
        ["sync", s.src, "s3://cli/x", "--endpoint", "http://127.0.0.1:9", "--path-style"],
        /Cannot reach the endpoint/,
      ],
      [["sync", s.src, "s3://cli/x", "--endpoint", "not a url"], /is not a URL/],
      [["restore", s.src], /takes an s3:\/\/ or wasabi:\/\/ location/],
      [
        ["restore", "s3://cli", "--tier", "fast", ...S3],
        /--tier takes bulk, standard or expedited/,
      ],
      [["get", "s3://cli", "a.txt", ...S3], /needs --version-id/],
      [["sync", s.src, "s3://cli/x", "--tier", "bulk"], /--tier does not apply to "ferry sync"/],
    ];
    for (const [args, re] of cases) {
      const r = await ferry(args, { env });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  } finally {
    await s.cleanup();
  }
});

Deno.test("restore-status on a prefix with nothing archived says so", async () => {
  const r = await ferry(["restore-status", "s3://cli/backups", ...S3], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /No archived objects in s3:\/\/cli\/backups/);
});

Deno.test({
  name: "s3 cli: stop the server",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => server.stop(),
});
