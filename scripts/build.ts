/**
 * `deno task build`: one standalone executable per platform with `deno compile`, into dist/,
 * named `ferry-<version>-<target>[.exe]`, with a `SHA256SUMS` file beside them.
 *
 *   deno task build            every platform
 *   deno task build --host     this machine's platform only
 *   deno task build -v         show deno compile's own output
 *
 * `deno compile` downloads its runtime (denort) for each target. Where that cannot be
 * downloaded (as on a machine without internet), the build says so in one line and exits 1;
 * with DENORT_BIN set to a local denort (which deno compile honours) it builds this machine's
 * target only. DENO_DIR is honoured as by any deno command. Modules loaded by URL at run time
 * are included explicitly: each backend kind's Workers and lazily loaded modules (read from
 * lib/backends/registry.ts) and the rest of lib/lazy.ts; tests/build_graph_test.ts checks that
 * this list misses none.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { LAZY_MODULES } from "../lib/lazy.ts";
import { backendModules } from "../lib/backends/registry.ts";

const backends = backendModules();

/** Modules the compiler cannot see in the graph (loaded by URL), included by name. */
export const INCLUDES = [...backends.workers, ...backends.lazy, ...LAZY_MODULES];

/** The permissions the binary is built with, and no more. */
export const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  // Credentials and settings (AWS_*, FERRY_*, NO_COLOR, XDG_STATE_HOME, HOME).
  "--allow-env",
  "--allow-net",
  // The AWS SDK asks the OS for its name and release (user agent, config paths).
  "--allow-sys",
  // Only GNU find, the fast tree walker on Linux (lib/backends/local/find_walk.ts); without it ferry
  // walks with its built-in walker.
  "--allow-run=find",
];

/**
 * V8 settings the binary runs with. A young generation of 4 MB (V8's default grows to 16 MB)
 * makes V8 collect short-lived objects before they pile up: a first copy of 200,000 files peaked
 * at 340 MB without it and 270 MB with it, in the same time (50,000 files: 1.43–1.69 s without,
 * 1.49–1.55 s with; a no-op 0.27 s either way). `deno task ferry` and the benchmarks run ferry
 * with the same settings.
 */
export const V8_FLAGS = ["--max-semi-space-size=4"];

/** The `deno run`/`deno compile` option that applies {@linkcode V8_FLAGS}. */
export const V8_OPTION = `--v8-flags=${V8_FLAGS.join(",")}`;

/** Every target Deno can build for, with its file suffix. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
  "aarch64-pc-windows-msvc",
];

/**
 * The file name of a target's binary.
 *
 * @param version The version from deno.json.
 * @param target A target triple.
 * @returns Such as `ferry-0.1.0-x86_64-pc-windows-msvc.exe`.
 */
export function binaryName(version: string, target: string): string {
  return `ferry-${version}-${target}${target.includes("windows") ? ".exe" : ""}`;
}

async function build(): Promise<number> {
  const root = new URL("..", import.meta.url);
  const { version } = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const verbose = Deno.args.includes("-v");
  const hostOnly = Deno.args.includes("--host") || !!Deno.env.get("DENORT_BIN");
  const targets = hostOnly ? [Deno.build.target] : TARGETS;
  const dist = new URL("dist/", root);
  await Deno.mkdir(dist, { recursive: true });
  const built: string[] = [];
  for (const target of targets) {
    const name = binaryName(version, target);
    const args = [
      "compile",
      ...PERMISSIONS,
      V8_OPTION,
      ...INCLUDES.flatMap((m) => ["--include", m]),
      "--target",
      target,
      "--output",
      `dist/${name}`,
      "cli.ts",
    ];
    const r = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      stdout: verbose ? "inherit" : "null",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    if (verbose) console.error(err.trim());
    if (!r.success) {
      const why = /denort|download|dns|lookup|connect/i.test(err)
        ? `deno compile could not download its runtime for ${target} (no internet?): set DENORT_BIN to a local denort to build for this machine`
        : `deno compile failed for ${target}: ${
          err.trim().split("\n")[0]
        } (run with -v for details)`;
      console.error(`build: ${why}`);
      return 1;
    }
    built.push(name);
    console.log(`built dist/${name}`);
  }
  const sums = await Promise.all(built.map(async (n) => {
    const hex = createHash("sha256").update(await Deno.readFile(new URL(n, dist))).digest("hex");
    return `${hex}  ${n}\n`;
  }));
  await Deno.writeTextFile(new URL("SHA256SUMS", dist), sums.join(""));
  console.log(`wrote dist/SHA256SUMS (${built.length} binaries)`);
  return 0;
}

// Imported by the graph test for its lists only; run, it builds.
if (import.meta.main) Deno.exit(await build());
