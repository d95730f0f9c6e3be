/**
 * The trash's cost, part of `deno task bench` (and alone: `deno run -A scripts/bench_trash.ts
 * [--local-only] [--rounds N]`): a `sync --delete` that deletes 1,000 small files and
 * overwrites 1,000 others, with the trash (the default) and with `--no-trash`, locally and into
 * S3 (s3rver on 127.0.0.1). Each round makes a fresh destination (a first copy of 2,000 files),
 * changes the source, and times the one sync; the two kinds of round alternate, and the median
 * of each is compared.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { V8_OPTION } from "./build.ts";
import { startS3rver } from "../tests/servers/s3rver.ts";
import { median, say, smallFiles, table, timed } from "./_bench_tools.ts";

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
const ferry = (...a: string[]) => [Deno.execPath(), "run", "-A", V8_OPTION, CLI, ...a];
const CREDS = {
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
};

/** The 2,000 files' keys below the source, in a fixed order. */
function keysOf(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      if (e.isDirectory) walk(join(dir, e.name));
      else out.push(join(dir, e.name));
    }
  };
  walk(root);
  return out;
}

/**
 * Time the trash's cost for one kind of destination.
 *
 * @param work A scratch folder.
 * @param rounds Rounds of each kind.
 * @param dest Names a fresh destination for round `i`, with the extra arguments it takes.
 * @returns Median seconds with and without the trash.
 */
async function measure(
  work: string,
  rounds: number,
  dest: (i: number) => { to: string; extra: string[]; env: Record<string, string> },
): Promise<{ trash: number; none: number }> {
  const times = { trash: [] as number[], none: [] as number[] };
  for (let i = 0; i < rounds * 2; i++) {
    const src = join(work, `src${i}`);
    smallFiles(src, 2000, 11);
    const { to, extra, env } = dest(i);
    const state = join(work, `state${i}.db`);
    await timed(ferry("sync", src, to, ...extra, "--state", state, "-q"), env);
    const files = keysOf(src);
    for (const f of files.slice(0, 1000)) Deno.removeSync(f);
    for (const f of files.slice(1000)) Deno.writeTextFileSync(f, "changed: " + f);
    const off = i % 2 === 1;
    const t = await timed(
      ferry(
        "sync",
        src,
        to,
        ...extra,
        "--state",
        state,
        "--delete",
        "--yes",
        "-q",
        ...(off ? ["--no-trash"] : []),
      ),
      env,
    );
    (off ? times.none : times.trash).push(t.seconds);
    Deno.removeSync(src, { recursive: true });
  }
  return { trash: median(times.trash), none: median(times.none) };
}

/**
 * Run the trash benchmark and print its table.
 *
 * @param rounds Rounds of each kind (default 5).
 * @param s3 Also into S3 (default true).
 */
export async function benchTrash(rounds = 5, s3 = true): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "ferry-bench-trash-" });
  const rows: string[][] = [];
  const row = (name: string, r: { trash: number; none: number }) =>
    rows.push([
      name,
      `${r.none.toFixed(3)} s`,
      `${r.trash.toFixed(3)} s`,
      `${((r.trash / r.none - 1) * 100).toFixed(1)}%`,
    ]);
  try {
    say(
      `\n== the trash: sync --delete deleting 1,000 files and overwriting 1,000 (median of ${rounds})`,
    );
    row(
      "local -> local",
      await measure(work, rounds, (i) => ({ to: join(work, `dst${i}`), extra: [], env: {} })),
    );
    if (s3) {
      const server = await startS3rver(["trashbench"]);
      try {
        const E = ["--endpoint", server.endpoint, "--path-style"];
        row(
          "local -> S3",
          await measure(work, rounds, (i) => ({
            to: `s3://trashbench/r${i}`,
            extra: E,
            env: CREDS,
          })),
        );
      } finally {
        await server.stop();
      }
    }
    for (const l of table(["case", "--no-trash", "trash", "cost"], rows)) say(l);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { "local-only": { type: "boolean" }, rounds: { type: "string" } },
  });
  await benchTrash(Number(values.rounds ?? 5), !values["local-only"]);
}
