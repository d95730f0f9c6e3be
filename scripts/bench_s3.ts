/**
 * The S3 part of `deno task bench`: local -> S3 on 127.0.0.1 (s3rver under Node), against
 * `rclone sync`, `aws s3 sync` and a floor (16 parallel PutObject calls, no listing or checks),
 * all in the same run:
 *
 *   initial upload of 5,000 small files plus ten 16 MiB files
 *   a no-op resync
 *   a resync after renaming a folder holding half the bytes (rclone with --track-renames)
 *
 * @module
 */
import { V8_OPTION } from "./build.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startS3rver } from "../tests/servers/s3rver.ts";
import { debianTool, rcloneS3rverEnv } from "../tests/servers/peers.ts";
import { say, table, timed } from "./_bench_tools.ts";

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
const FLOOR = fileURLToPath(new URL("./s3_floor.ts", import.meta.url));

/**
 * Run the S3 benchmark and print its table.
 *
 * @param smallFiles How many small files (default 5,000).
 * @param bigFiles How many 16 MiB files (default 10).
 */
export async function benchS3(smallFiles = 5000, bigFiles = 10): Promise<void> {
  const rclone = debianTool("rclone");
  const aws = debianTool("aws");
  if (!rclone || !aws) {
    say(
      "bench s3: rclone and aws (Debian packages rclone, awscli) are needed for the peer figures",
    );
    return;
  }
  const server = await startS3rver(["bench"]);
  const work = await Deno.makeTempDir({ prefix: "ferry-bench-s3-" });
  const src = join(work, "src");
  try {
    // 5,000 small files in 50 folders, and the big files split between two folders.
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const buf = crypto.getRandomValues(new Uint8Array(4096));
    let bytes = 0;
    for (let i = 0; i < smallFiles; i++) {
      const dir = join(src, "docs", `d${String(Math.floor(i / 100)).padStart(2, "0")}`);
      if (i % 100 === 0) Deno.mkdirSync(dir, { recursive: true });
      const size = 100 + Math.floor(rnd() * 3900);
      Deno.writeFileSync(join(dir, `f${i}.txt`), buf.subarray(0, size));
      bytes += size;
    }
    const chunk = new Uint8Array(1 << 20);
    for (let o = 0; o < chunk.length; o += 65536) {
      crypto.getRandomValues(chunk.subarray(o, o + 65536));
    }
    for (let i = 0; i < bigFiles; i++) {
      const dir = join(src, i < bigFiles / 2 ? "media" : "archive");
      Deno.mkdirSync(dir, { recursive: true });
      const f = Deno.openSync(join(dir, `clip${i}.mov`), { write: true, create: true });
      for (let m = 0; m < 16; m++) f.writeSync(chunk.map((b) => b ^ i));
      f.close();
      bytes += 16 << 20;
    }
    say(
      `\n== local -> S3 (s3rver on 127.0.0.1): ${smallFiles} small files + ${bigFiles} x 16 MiB, ${
        (bytes / 1e6).toFixed(1)
      } MB`,
    );
    const creds = {
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_REGION: "us-east-1",
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const rcloneEnv = rcloneS3rverEnv(server.endpoint);
    const E = ["--endpoint", server.endpoint, "--path-style"];
    const ferry = (...a: string[]) => [Deno.execPath(), "run", "-A", V8_OPTION, CLI, ...a];
    const state = join(work, "ferry-state.db");
    const runs = {
      ferry: (extra: string[] = []) =>
        timed(
          ferry("sync", src, "s3://bench/ferry", ...E, "--state", state, "--json", ...extra),
          creds,
        ),
      rclone: (extra: string[] = []) =>
        timed([
          rclone,
          "sync",
          src,
          "s3r:bench/rclone",
          "--exclude",
          ".ferry/**",
          "--transfers",
          "16",
          "--stats-one-line",
          "-v",
          ...extra,
        ], rcloneEnv),
      aws: (extra: string[] = []) =>
        timed([
          aws,
          "--endpoint-url",
          server.endpoint,
          "s3",
          "sync",
          src,
          "s3://bench/aws",
          "--exclude",
          ".ferry/*",
          "--no-progress",
          ...extra,
        ], creds),
    };
    const rows: string[][] = [];
    const floor = await timed([
      Deno.execPath(),
      "run",
      "-A",
      FLOOR,
      src,
      server.endpoint,
      "bench",
      "floor",
    ], creds);
    const initial = {
      ferry: await runs.ferry(),
      rclone: await runs.rclone(),
      aws: await runs.aws(),
    };
    rows.push([
      "initial upload",
      ...[initial.ferry, initial.rclone, initial.aws, floor].map((t) => t.seconds.toFixed(2)),
    ]);
    const noop = { ferry: await runs.ferry(), rclone: await runs.rclone(), aws: await runs.aws() };
    rows.push([
      "no-op resync",
      ...[noop.ferry, noop.rclone, noop.aws].map((t) => t.seconds.toFixed(2)),
      "-",
    ]);
    Deno.renameSync(join(src, "media"), join(src, "media-2026"));
    const ren = {
      ferry: await runs.ferry(["--delete"]),
      rclone: await runs.rclone(["--track-renames"]),
      aws: await runs.aws(["--delete"]),
    };
    rows.push([
      "rename half the bytes",
      ...[ren.ferry, ren.rclone, ren.aws].map((t) => t.seconds.toFixed(2)),
      "-",
    ]);
    const sentFerry = JSON.parse(ren.ferry.out.trim().split("\n").at(-1)!).bytes as number;
    const renamedBytes = (bigFiles / 2) * (16 << 20);
    for (const l of table(["seconds", "ferry", "rclone", "aws s3 sync", "floor"], rows)) say(l);
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    say(
      `initial: ferry/floor ${ratio(initial.ferry.seconds, floor.seconds)}, rclone/floor ${
        ratio(initial.rclone.seconds, floor.seconds)
      }, aws/floor ${ratio(initial.aws.seconds, floor.seconds)}`,
    );
    const fasterNoop = Math.min(noop.rclone.seconds, noop.aws.seconds);
    say(`no-op: ferry / faster peer ${ratio(noop.ferry.seconds, fasterNoop)}`);
    const fasterRen = Math.min(ren.rclone.seconds, ren.aws.seconds);
    say(
      `rename: ferry sent ${sentFerry} B of ${renamedBytes} B moved (${
        ((sentFerry / renamedBytes) * 100).toFixed(2)
      }%); ferry / faster peer ${ratio(ren.ferry.seconds, fasterRen)}`,
    );
    say(
      `rclone --track-renames reported: ${
        ren.rclone.out.split("\n").filter((l) => /B \/ /.test(l)).at(-1)?.trim() ?? "?"
      }`,
    );
    say(
      `ferry peak memory: initial ${initial.ferry.peakMB.toFixed(0)} MB, no-op ${
        noop.ferry.peakMB.toFixed(0)
      } MB, rename ${ren.ferry.peakMB.toFixed(0)} MB`,
    );
  } finally {
    await server.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await benchS3();
