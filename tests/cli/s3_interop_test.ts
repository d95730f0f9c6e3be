/**
 * Interoperability: a prefix written by rclone or `aws s3 sync` is in step for ferry (nothing
 * is sent again), and one written by ferry is in step for rclone. Both tools come from
 * Debian's apt (`.ci/run` installs them); without them, outside CI, these tests are skipped.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startS3rver } from "../servers/s3rver.ts";
import { debianTool, rcloneS3rverEnv } from "../servers/peers.ts";
import { ferry, scratch } from "./_run.ts";
import { skipUnless } from "../_skips.ts";

const rclone = debianTool("rclone");
const aws = debianTool("aws");
const inCI = !!Deno.env.get("CI");

async function run(cmd: string, args: string[], env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text}`);
  return text;
}

const FILES = { "a.txt": "alpha", "sub dir/b.txt": "beta beta", "sub dir/ü.txt": "unicode" };

Deno.test({
  name:
    "a prefix written by rclone or aws s3 sync is in step for ferry; one by ferry is for rclone",
  ignore: skipUnless(!!(rclone && aws) || inCI, import.meta.url, "rclone or aws is not installed"),
  sanitizeResources: false,
  fn: async () => {
    const server = await startS3rver(["interop"]);
    const s = await scratch(FILES);
    try {
      const creds = {
        AWS_ACCESS_KEY_ID: "S3RVER",
        AWS_SECRET_ACCESS_KEY: "S3RVER",
        AWS_REGION: "us-east-1",
      };
      const S3 = ["--endpoint", server.endpoint, "--path-style"];
      const rcloneEnv = rcloneS3rverEnv(server.endpoint);
      await run(
        rclone!,
        ["copy", s.src, "s3r:interop/by-rclone", "--exclude", ".ferry/**"],
        rcloneEnv,
      );
      await run(aws!, [
        "--endpoint-url",
        server.endpoint,
        "s3",
        "sync",
        s.src,
        "s3://interop/by-aws",
      ], {
        ...creds,
        AWS_EC2_METADATA_DISABLED: "true",
      });
      for (const prefix of ["by-rclone", "by-aws"]) {
        const r = await ferry(["sync", s.src, `s3://interop/${prefix}`, ...S3, "--json"], {
          env: creds,
        });
        assert.equal(r.code, 0, r.stderr);
        const sum = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
        assert.deepEqual([sum.copied, sum.updated, sum.bytes], [0, 0, 0], `${prefix}: ${r.stdout}`);
      }
      const r = await ferry(["sync", s.src, "s3://interop/by-ferry", ...S3], { env: creds });
      assert.equal(r.code, 0, r.stderr);
      const check = await run(
        rclone!,
        ["sync", s.src, "s3r:interop/by-ferry", "--dry-run", "-v", "--exclude", ".ferry/**"],
        rcloneEnv,
      );
      assert.match(check, /There was nothing to transfer/);
    } finally {
      await s.cleanup();
      await server.stop();
    }
  },
});
