/**
 * `deno task bench`: ferry against rsync on the same trees in the same run.
 *
 *   local -> local, 50,000 small files in nested folders:
 *     initial copy (median of 5), and a no-op resync (median of 7), each against `rsync -a --delete`
 *   a rename of a folder holding 1 GB, after which ferry must not copy content
 *   peak memory (VmHWM) of every ferry run
 *
 * It runs on the disk (the system's temp folder) and, where there is one, in memory
 * (/dev/shm): the disk here is shared and its speed swings widely, the memory run shows the
 * cost of the work itself.
 *
 * First the start-up of a cold process against rclone and rsync (scripts/bench_startup.ts); then
 * local -> ZIP against Info-ZIP zip (scripts/bench_zip.ts); local -> FTP (pure-ftpd) against lftp
 * and rclone (scripts/bench_ftp.ts); a mirror of two folders of 50,000 files against unison and
 * rclone bisync, watch latency and idle CPU (scripts/bench_mirror.ts); the trash's cost, a
 * `sync --delete` deleting 1,000 files and overwriting 1,000 with and without it, locally and
 * into S3 (scripts/bench_trash.ts); last local -> S3 against rclone, aws s3 sync and a floor
 * (scripts/bench_s3.ts).
 *
 * Options: --files N (default 50000), --big-mb N (default 1024), --where disk|memory|both,
 * --no-s3 (skip the S3 part), --keep (leave the corpus), --baseline DIR (only this: the first
 * copy and no-op of sync and mirror against another checkout's, scripts/bench_pass.ts).
 *
 * @module
 */
import { V8_OPTION } from "./build.ts";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { benchS3 } from "./bench_s3.ts";
import { benchStartup } from "./bench_startup.ts";
import { benchZip } from "./bench_zip.ts";
import { benchFtp } from "./bench_ftp.ts";
import { benchMirror } from "./bench_mirror.ts";
import { benchPass } from "./bench_pass.ts";
import { benchTrash } from "./bench_trash.ts";
import { median, say, table, timed } from "./_bench_tools.ts";

const { values } = parseArgs({
  args: Deno.args,
  allowNegative: true,
  options: {
    files: { type: "string", default: "50000" },
    "big-mb": { type: "string", default: "1024" },
    keep: { type: "boolean", default: false },
    where: { type: "string", default: "both" },
    s3: { type: "boolean", default: true },
    baseline: { type: "string" },
  },
});
const FILES = Number(values.files);
const BIG_MB = Number(values["big-mb"]);
const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));

function makeCorpus(root: string, n: number): number {
  // Deterministic sizes 100..4000 bytes, 100 files a folder, two levels deep.
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const buf = crypto.getRandomValues(new Uint8Array(4096));
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.floor(i / 2000);
    const b = Math.floor(i / 100) % 20;
    const dir = join(root, `d${String(a).padStart(2, "0")}`, `s${String(b).padStart(2, "0")}`);
    if (i % 100 === 0) Deno.mkdirSync(dir, { recursive: true });
    const size = 100 + Math.floor(rnd() * 3900);
    Deno.writeFileSync(
      join(dir, `f${String(i % 100).padStart(3, "0")}.txt`),
      buf.subarray(0, size),
    );
    bytes += size;
  }
  return bytes;
}

const haveRsync =
  (await new Deno.Command("sh", { args: ["-c", "command -v rsync"] }).output()).success;
if (!haveRsync) {
  say("bench: rsync is not installed (apt-get install rsync); the peer figures are needed");
  Deno.exit(2);
}

async function benchIn(label: string, base: string | undefined): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "ferry-bench-", ...(base ? { dir: base } : {}) });
  const src = join(work, "src");
  const dstF = join(work, "dst-ferry");
  const dstR = join(work, "dst-rsync");
  const ferry = (...args: string[]) => [Deno.execPath(), "run", "-A", V8_OPTION, CLI, ...args];
  const rows: string[][] = [];
  const row = (what: string, f: number, r: number | undefined, mem: number) =>
    rows.push([
      what,
      f.toFixed(3),
      r === undefined ? "-" : r.toFixed(3),
      r === undefined ? "-" : (f / r).toFixed(2),
      mem.toFixed(0),
    ]);

  try {
    say(`\n== ${label}: ${FILES} files in ${work}`);
    const bytes = makeCorpus(src, FILES);
    say(`corpus: ${(bytes / 1e6).toFixed(1)} MB`);
    // Warm the module cache so the first timed run does not pay for it.
    await timed(ferry("--version"));

    // Five rounds in alternating order (the disk's write-back favours whoever goes first, and
    // single runs here swing by ±20%): the median is the figure.
    const fInits: number[] = [];
    const rInits: number[] = [];
    let initMem = 0;
    for (let round = 0; round < 5; round++) {
      for (const who of round % 2 === 0 ? ["ferry", "rsync"] : ["rsync", "ferry"]) {
        await Deno.remove(who === "ferry" ? dstF : dstR, { recursive: true }).catch(() => {});
        // ferry's state goes with its replica (the no-op rounds below keep the last one's).
        if (who === "ferry") {
          await Deno.remove(join(src, ".ferry"), { recursive: true }).catch(() => {});
        }
        // Let the file system finish freeing what was just removed before the next timed run.
        await new Deno.Command("sync").output();
        await new Promise((r) => setTimeout(r, 3000));
        if (who === "ferry") {
          const r = await timed(ferry("sync", src, dstF, "-q"));
          fInits.push(r.seconds);
          initMem = Math.max(initMem, r.peakMB);
        } else {
          rInits.push(
            (await timed(["rsync", "-a", "--delete", "--exclude", ".ferry", src + "/", dstR + "/"]))
              .seconds,
          );
        }
      }
    }
    say(
      `initial copy rounds: ferry ${fInits.map((x) => x.toFixed(2)).join(", ")} s; rsync ${
        rInits.map((x) => x.toFixed(2)).join(", ")
      } s`,
    );
    row(`initial copy, ${FILES} files (median of 5)`, median(fInits), median(rInits), initMem);

    const fNo: number[] = [];
    const rNo: number[] = [];
    let noMem = 0;
    // Seven interleaved rounds, alternating who goes first: single runs here swing ±20%.
    const rsyncNoop = ["rsync", "-a", "--delete", "--exclude", ".ferry", src + "/", dstR + "/"];
    for (let i = 0; i < 7; i++) {
      for (const who of i % 2 === 0 ? ["ferry", "rsync"] : ["rsync", "ferry"]) {
        if (who === "ferry") {
          const f = await timed(ferry("sync", src, dstF, "--delete", "-q"));
          fNo.push(f.seconds);
          noMem = Math.max(noMem, f.peakMB);
        } else rNo.push((await timed(rsyncNoop)).seconds);
      }
    }
    say(
      `no-op rounds: ferry ${fNo.map((x) => x.toFixed(3)).join(", ")} s; rsync ${
        rNo.map((x) => x.toFixed(3)).join(", ")
      } s`,
    );
    row(`no-op resync, ${FILES} files (median of 7)`, median(fNo), median(rNo), noMem);
    const find = await timed([
      "sh",
      "-c",
      `find "${src}" "${dstR}" -printf '%s %T@\\n' >/dev/null`,
    ]);
    say(`reference: a bare find over both trees took ${find.seconds.toFixed(3)} s`);

    if (BIG_MB > 0) {
      // A tree of its own: the figure is the rename, not another walk of 50,000 files.
      const bsrc = join(work, "big-src");
      const bF = join(work, "big-ferry");
      const bR = join(work, "big-rsync");
      const big = join(bsrc, "video", "raw");
      Deno.mkdirSync(big, { recursive: true });
      const chunk = crypto.getRandomValues(new Uint8Array(1 << 16));
      const parts = 4;
      for (let p = 0; p < parts; p++) {
        const f = Deno.openSync(join(big, `clip${p}.mov`), { write: true, create: true });
        for (let i = 0; i < (BIG_MB * 16) / parts; i++) f.writeSync(chunk);
        f.close();
      }
      Deno.writeTextFileSync(join(bsrc, "notes.txt"), "notes");
      await timed(ferry("sync", bsrc, bF, "-q"));
      await timed(["rsync", "-a", "--delete", "--exclude", ".ferry", bsrc + "/", bR + "/"]);
      Deno.renameSync(join(bsrc, "video"), join(bsrc, "footage"));
      const fRen = await timed(ferry("sync", bsrc, bF, "--delete", "-v"));
      const rRen = await timed([
        "rsync",
        "-a",
        "--delete",
        "--exclude",
        ".ferry",
        bsrc + "/",
        bR + "/",
      ]);
      row(`rename a folder of ${BIG_MB} MB`, fRen.seconds, rRen.seconds, fRen.peakMB);
      const moved = /(\d+) moved/.exec(fRen.out)?.[1];
      const copied = /(\d+) files? copied/.exec(fRen.out)?.[1];
      say(`rename: ferry moved ${moved} file(s) and copied ${copied}; rsync re-sent the content`);
    }

    say("");
    for (const l of table(["what", "ferry s", "rsync s", "ferry/rsync", "ferry peak MB"], rows)) {
      say(l);
    }
  } finally {
    if (!values.keep) await Deno.remove(work, { recursive: true });
  }
}

const wantDisk = values.where !== "memory";
let wantMemory = values.where !== "disk";
try {
  if (!Deno.statSync("/dev/shm").isDirectory) wantMemory = false;
} catch {
  wantMemory = false;
}
if (values.baseline) {
  // A before/after check of the engine: both checkouts on one corpus, alternating.
  await benchPass(values.baseline, FILES, 5, wantMemory ? "/dev/shm" : undefined);
  Deno.exit(0);
}
await benchStartup();
if (wantDisk) await benchIn("disk", undefined);
if (wantMemory) await benchIn("memory (/dev/shm)", "/dev/shm");
await benchZip(10_000, wantMemory ? "/dev/shm" : undefined);
await benchFtp();
await benchMirror(50_000, wantMemory ? "/dev/shm" : undefined);
await benchTrash(5, values.s3);
if (values.s3) await benchS3();
