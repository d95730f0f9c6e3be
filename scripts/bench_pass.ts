/**
 * `deno task bench --baseline DIR`: this checkout's passes against another checkout's (DIR, a
 * git worktree of an older commit) on the same corpus in the same run — the check that a change
 * to the engine kept its speed. Rows: the first copy and the no-op of `sync`, the first copy and
 * the no-op of `mirror` (and a mirror no-op with its remembered listings dropped, so that every
 * path is planned), each the median of N alternating rounds (who goes first swaps each round).
 *
 * Standalone: `deno run -A scripts/bench_pass.ts --baseline DIR [--files N] [--rounds N]
 * [--where memory|disk]`.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import { median, say, smallFiles, table, timed } from "./_bench_tools.ts";

const HERE = fileURLToPath(new URL("..", import.meta.url));

/** One checkout's ferry, run with its own configuration. */
interface Side {
  label: string;
  cmd: string[];
}

function sideOf(label: string, dir: string): Side {
  return {
    label,
    cmd: [Deno.execPath(), "run", "-A", "--config", join(dir, "deno.json"), join(dir, "cli.ts")],
  };
}

async function rm(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch(() => {});
}

/**
 * Time each side's sync and mirror, first copy and no-op, alternating.
 *
 * @param baseline The other checkout's folder.
 * @param files Files in the corpus.
 * @param rounds Rounds of each row.
 * @param base Where the work folder goes (undefined: the system's temp folder).
 */
export async function benchPass(
  baseline: string,
  files = 50_000,
  rounds = 5,
  base?: string,
): Promise<void> {
  const work = await Deno.makeTempDir({
    prefix: "ferry-bench-pass-",
    ...(base ? { dir: base } : {}),
  });
  const sides = [sideOf("this", HERE), sideOf("baseline", baseline)];
  try {
    const src = join(work, "src");
    smallFiles(src, files, 7);
    say(`\n== passes, this checkout against ${baseline}: ${files} files in ${work}`);
    // Each side its own state: a newer state schema must not meet an older reader.
    const dir = (s: Side, what: string) => join(work, `${s.label}-${what}`);
    const state = (s: Side, what: string) => join(work, `${s.label}-${what}.db`);
    for (const s of sides) await timed([...s.cmd, "--version"]); // warm the module cache
    const rows: string[][] = [];
    const row = async (
      what: string,
      prepare: (s: Side) => Promise<void> | void,
      args: (s: Side) => string[],
    ) => {
      const t: Record<string, number[]> = { this: [], baseline: [] };
      let peak = 0;
      for (let r = 0; r < rounds; r++) {
        for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
          await prepare(s);
          const run = await timed([...s.cmd, ...args(s), "-q"]);
          t[s.label]!.push(run.seconds);
          if (s.label === "this") peak = Math.max(peak, run.peakMB);
        }
      }
      const a = median(t.this!);
      const b = median(t.baseline!);
      say(
        `${what}: this ${t.this!.map((x) => x.toFixed(3)).join(", ")}; baseline ${
          t.baseline!.map((x) => x.toFixed(3)).join(", ")
        }`,
      );
      rows.push([what, a.toFixed(3), b.toFixed(3), (a / b).toFixed(3), peak.toFixed(0)]);
    };
    const syncArgs = (
      s: Side,
    ) => ["sync", src, dir(s, "sync"), "--delete", "--state", state(s, "sync")];
    await row(`sync first copy (median of ${rounds})`, async (s) => {
      await rm(dir(s, "sync"));
      await rm(state(s, "sync"));
    }, syncArgs);
    await row(`sync no-op (median of ${rounds})`, () => {}, syncArgs);
    const mirrorArgs = (
      s: Side,
    ) => ["mirror", src, dir(s, "mirror"), "--state", state(s, "mirror")];
    await row(`mirror first copy (median of ${rounds})`, async (s) => {
      await rm(dir(s, "mirror"));
      await rm(state(s, "mirror"));
      Deno.mkdirSync(dir(s, "mirror"));
    }, mirrorArgs);
    await row(`mirror no-op (median of ${rounds})`, () => {}, mirrorArgs);
    await row(`mirror no-op, every path planned (median of ${rounds})`, (s) => {
      const db = new DatabaseSync(state(s, "mirror"));
      db.exec("DELETE FROM digests");
      db.close();
    }, mirrorArgs);
    say("");
    for (
      const l of table(["what", "this s", "baseline s", "this/baseline", "this peak MB"], rows)
    ) say(l);
  } finally {
    await rm(work);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      baseline: { type: "string" },
      files: { type: "string", default: "50000" },
      rounds: { type: "string", default: "5" },
      where: { type: "string", default: "memory" },
    },
  });
  if (!values.baseline) {
    say("bench_pass: --baseline DIR (a checkout of the commit to compare with) is needed");
    Deno.exit(2);
  }
  const shm = values.where === "memory" && (await Deno.stat("/dev/shm").catch(() => null));
  await benchPass(
    values.baseline,
    Number(values.files),
    Number(values.rounds),
    shm ? "/dev/shm" : undefined,
  );
}
