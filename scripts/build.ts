/**
 * `deno task build`: one standalone executable per platform with `deno compile`, into dist/.
 *
 *   deno task build            every platform
 *   deno task build --host     this machine's platform only
 *
 * `deno compile` downloads its runtime (denort) for each target. Where that cannot be
 * downloaded, set DENORT_BIN to a local denort binary (deno compile honours it) and build
 * with --host. Modules loaded by URL at run time are included explicitly: the Workers (tree
 * walker, local copier) and the lazily loaded modules of lib/lazy.ts (S3, the gitignore matcher);
 * tests/build_graph_test.ts checks that this list misses none.
 *
 * @module
 */
import { LAZY_MODULES } from "../lib/lazy.ts";

/** Modules the compiler cannot see in the graph (loaded by URL), included by name. */
export const INCLUDES = [
  "lib/scan/walk_worker.ts",
  "lib/execute/copy_worker.ts",
  ...LAZY_MODULES,
];
const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

// Imported by the graph test for INCLUDES only; run, it builds.
if (import.meta.main) await build();

async function build(): Promise<void> {
  const hostOnly = Deno.args.includes("--host") || !!Deno.env.get("DENORT_BIN");
  const targets = hostOnly ? [Deno.build.target] : TARGETS;
  await Deno.mkdir("dist", { recursive: true });
  let failed = 0;
  for (const target of targets) {
    const out = `dist/ferry-${target}${target.includes("windows") ? ".exe" : ""}`;
    const args = [
      "compile",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-net",
      "--allow-sys",
      // Only GNU find, the fast tree walker on Linux (lib/scan/find_walk.ts); without it ferry
      // walks with its built-in walker.
      "--allow-run=find",
      ...INCLUDES.flatMap((m) => ["--include", m]),
      "--target",
      target,
      "--output",
      out,
      "cli.ts",
    ];
    const r = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "piped" })
      .output();
    if (r.success) {
      console.log(`built ${out}`);
      continue;
    }
    failed++;
    const err = new TextDecoder().decode(r.stderr);
    console.error(err.trim());
    if (/denort|download/i.test(err)) {
      console.error(
        `build: deno compile could not get the runtime for ${target}; set DENORT_BIN to a local denort and use --host`,
      );
    }
  }
  Deno.exit(failed ? 1 : 0);
}
