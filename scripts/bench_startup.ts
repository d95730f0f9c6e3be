/**
 * Start-up of a cold ferry process (warm module cache), against rclone and rsync in the same
 * run: `ferry --version`, `ferry --help` and a 10-file local sync, each the median of 11 runs.
 * Targets (issue 13): under 100 ms, 100 ms and 250 ms under `deno run`.
 *
 * @module
 */
import { V8_OPTION } from "./build.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { table } from "./_bench_tools.ts";

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const ROUNDS = 11;

async function median(cmd: string[], before?: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    await before?.();
    const t0 = performance.now();
    const out = await new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      stdout: "null",
      stderr: "null",
    }).output();
    if (!out.success) throw new Error(`${cmd.join(" ")} exited ${out.code}`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function have(tool: string): Promise<boolean> {
  return (await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" })
    .output()).success;
}

/** Run the start-up benchmark and print its table. */
export async function benchStartup(): Promise<void> {
  console.log("\n== start-up: a cold process each time (module cache warm), median of 11");
  const ferry = [
    Deno.execPath(),
    "run",
    "-A",
    V8_OPTION,
    "--config",
    CONFIG,
    "--cached-only",
    CLI,
  ];
  const dir = await Deno.makeTempDir({ prefix: "ferry-startup-" });
  try {
    const src = join(dir, "src");
    await Deno.mkdir(src);
    for (let i = 0; i < 10; i++) await Deno.writeTextFile(join(src, `f${i}.txt`), `file ${i}`);
    const dst = join(dir, "dst");
    const fresh = () => Deno.remove(dst, { recursive: true }).catch(() => {});
    const rows: string[][] = [];
    const row = (what: string, ms: number, target: number, peer?: [string, number]) =>
      rows.push([
        what,
        ms.toFixed(0),
        String(target),
        peer ? `${peer[0]} ${peer[1].toFixed(0)}` : "-",
      ]);
    const rclone = (await have("rclone")) ? await median(["rclone", "version"]) : undefined;
    const rsync = (await have("rsync")) ? await median(["rsync", "--version"]) : undefined;
    row(
      "ferry --version",
      await median([...ferry, "--version"]),
      100,
      rclone ? ["rclone version", rclone] : undefined,
    );
    row(
      "ferry --help",
      await median([...ferry, "--help"]),
      100,
      rsync ? ["rsync --version", rsync] : undefined,
    );
    const sync = await median(
      [...ferry, "sync", src, dst, "-q", "--state", join(dir, "state.db")],
      fresh,
    );
    const rsyncSync = (await have("rsync"))
      ? await median(["rsync", "-a", `${src}/`, `${dst}/`], fresh)
      : undefined;
    row("ferry sync, 10 files", sync, 250, rsyncSync ? ["rsync -a", rsyncSync] : undefined);
    for (const l of table(["ms", "ferry", "target", "peer (same run)"], rows)) console.log(l);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await benchStartup();
