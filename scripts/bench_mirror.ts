/**
 * `deno task bench`, mirror part, between two folders of 50,000 small files:
 *
 * - a no-op mirror (both folders already the same, state from an earlier run) against
 *   `unison -batch` and `rclone bisync`, each with its own archive from a first run, in the
 *   same script, medians of 3; ferry twice: as it runs (listings the same as in the last pass
 *   that found nothing to do: no state read), and with that memory cleared (every path
 *   reconciled, as the first no-op after changes is);
 * - watch latency: `ferry mirror a b --watch` running, a file saved in `a`, the time until it
 *   is in `b`, 200 times (p50, p95);
 * - the CPU that watching process uses over a minute of idling (percent of one core).
 *
 * @module
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { median, say, smallFiles, table, timed } from "./_bench_tools.ts";

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

function have(tool: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] }).outputSync().success;
}

/** CPU time (user + system) a process used so far, seconds. */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

async function waitFor(ok: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (ok()) return true;
    await new Promise((r) => setTimeout(r, 2));
  }
  return false;
}

/**
 * @param files Files in each folder.
 * @param base Where to work (a memory file system when there is one).
 * @param idleSeconds How long to measure idle watching.
 */
export async function benchMirror(files = 50_000, base?: string, idleSeconds = 60): Promise<void> {
  const work = await Deno.makeTempDir({
    prefix: "ferry-bench-mirror-",
    ...(base ? { dir: base } : {}),
  });
  try {
    const a = join(work, "a");
    const b = join(work, "b");
    smallFiles(a, files, 11);
    await new Deno.Command("cp", { args: ["-a", a, b] }).output();
    const ferry = [Deno.execPath(), "run", "-A", "--config", CONFIG, CLI];
    const state = join(work, "ferry.db");
    const unisonDir = join(work, "unison");
    Deno.mkdirSync(unisonDir);
    const bisyncDir = join(work, "bisync");
    const runs: Record<string, () => Promise<number>> = {
      ferry: async () => (await timed([...ferry, "mirror", a, b, "-q", "--state", state])).seconds,
      // The same no-op with the remembered listings forgotten: every path reconciled.
      "ferry (planned)": async () => {
        const db = new DatabaseSync(state);
        db.exec("DELETE FROM digests");
        db.close();
        return (await timed([...ferry, "mirror", a, b, "-q", "--state", state])).seconds;
      },
    };
    // Each peer's first run builds its archive; only the runs after it are timed.
    await timed([...ferry, "mirror", a, b, "-q", "--state", state]);
    if (have("unison")) {
      // ferry's marker folder (.ferry/location differs per folder) is left out of the peers' runs.
      const u = [
        "unison",
        a,
        b,
        "-batch",
        "-silent",
        "-times",
        "-perms",
        "0",
        "-ignore",
        "Name .ferry",
      ];
      await timed(u, { UNISON: unisonDir, HOME: work });
      runs["unison -batch"] = async () =>
        (await timed(u, { UNISON: unisonDir, HOME: work })).seconds;
    } else say("bench mirror: unison (Debian package unison) is needed for its figures");
    if (have("rclone")) {
      const r = [
        "rclone",
        "bisync",
        a,
        b,
        "--workdir",
        bisyncDir,
        "--config",
        "/dev/null",
        "--exclude",
        ".ferry/**",
      ];
      await timed([...r, "--resync"]);
      runs["rclone bisync"] = async () => (await timed(r)).seconds;
    } else say("bench mirror: rclone is needed for its figures");
    const times: Record<string, number[]> = {};
    for (let round = 0; round < 3; round++) {
      for (const [name, run] of Object.entries(runs)) (times[name] ??= []).push(await run());
    }
    const ours = median(times.ferry!);
    const peers = Object.entries(times).filter(([n]) => !n.startsWith("ferry"));
    const fastest = Math.min(...peers.map(([, t]) => median(t)));
    say(`\nmirror no-op, two folders of ${files} files (medians of 3, interleaved):`);
    for (
      const l of table(
        ["tool", "seconds", "vs ferry"],
        Object.entries(times).map((
          [n, t],
        ) => [n, median(t).toFixed(3), (median(t) / ours).toFixed(2)]),
      )
    ) say("  " + l);
    if (peers.length > 0) {
      say(`  ferry / fastest peer: ${(ours / fastest).toFixed(2)} (target: at most 1)`);
      say(
        `  ferry planned in full / fastest peer: ${
          (median(times["ferry (planned)"]!) / fastest).toFixed(2)
        } (a no-op right after changes)`,
      );
    }

    // Watch latency and idle CPU, one watching process.
    const child = new Deno.Command(ferry[0]!, {
      args: [...ferry.slice(1), "mirror", a, b, "--watch", "-q", "--state", state],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      // Watching begins after the first pass: a file that arrives says it has begun.
      Deno.writeTextFileSync(join(a, "ready.txt"), "r");
      if (!(await waitFor(() => exists(join(b, "ready.txt")), 120_000))) {
        throw new Error("the watching mirror never started");
      }
      const lat: number[] = [];
      for (let i = 0; i < 200; i++) {
        const rel = `d${i % Math.ceil(files / 2000)}/s0/w${i}.txt`;
        const t0 = performance.now();
        Deno.writeTextFileSync(join(a, rel), `change ${i}`);
        if (!(await waitFor(() => exists(join(b, rel)), 10_000))) {
          throw new Error(`change ${i} did not arrive within 10 s`);
        }
        lat.push(performance.now() - t0);
      }
      lat.sort((x, y) => x - y);
      const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]!;
      say(
        `\nwatch latency, a file saved in a watched folder of ${files} until it is in the other (200 changes):`,
      );
      say(
        `  p50 ${pct(0.5).toFixed(0)} ms, p95 ${pct(0.95).toFixed(0)} ms, max ${
          lat[lat.length - 1]!.toFixed(0)
        } ms (target: p95 under 1000 ms)`,
      );
      // Idle: let the last pass settle, then measure.
      await new Promise((r) => setTimeout(r, 2_000));
      const c0 = cpuSeconds(child.pid);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, idleSeconds * 1000));
      const used = cpuSeconds(child.pid) - c0;
      const wall = (performance.now() - t0) / 1000;
      say(
        `\nidle watching of ${files} files for ${wall.toFixed(0)} s: ${used.toFixed(2)} s of CPU, ${
          (100 * used / wall).toFixed(2)
        }% of a core (target: under 1%)`,
      );
    } finally {
      child.kill("SIGINT");
      await child.status;
      await child.stderr.cancel().catch(() => {});
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const files = Number(Deno.args[0] ?? "50000");
  const idle = Number(Deno.args[1] ?? "60");
  let base: string | undefined;
  try {
    if (Deno.statSync("/dev/shm").isDirectory) base = "/dev/shm";
  } catch { /* no memory file system */ }
  await benchMirror(files, base, idle);
}
