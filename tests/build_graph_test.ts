/**
 * What the standalone binary depends on, proven without building it (deno compile cannot get
 * its runtime on these machines): the module graph holds only local files, Node built-ins and
 * npm packages locked in deno.lock; every module loaded by URL at run time (Workers, lazy
 * modules) is in the build's include list; no FFI, no native addon, no blob-URL Worker, and no
 * file read relative to the source tree at run time.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";
import { INCLUDES } from "../scripts/build.ts";
import { LAZY_MODULES as OTHER_LAZY_MODULES } from "../lib/lazy.ts";
import { backendModules } from "../lib/backends/registry.ts";

/** Every module loaded through lazyImport: each backend kind's, and lib/lazy.ts's own. */
const LAZY_MODULES = [...backendModules().lazy, ...OTHER_LAZY_MODULES];

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...sources(rel));
    else if (rel.endsWith(".ts")) out.push(rel);
  }
  return out;
}

const LIB = ["cli.ts", "mod.ts", ...sources("lib")];
const text = (f: string) => Deno.readTextFileSync(join(ROOT, f));
/** Source without comments (JSDoc examples and notes do not run). */
const code = (f: string) => text(f).replace(/^\s*(\/\/|\/\*\*|\*).*$/gm, "");

Deno.test("build graph: every Worker and lazily loaded module is in the build's include list", () => {
  const loadedByUrl = new Set<string>();
  for (const f of LIB) {
    for (const m of text(f).matchAll(/new Worker\(\s*new URL\("([^"]+)",\s*import\.meta\.url\)/g)) {
      loadedByUrl.add(relative(ROOT, fileURLToPath(new URL(m[1]!, new URL(f, `file://${ROOT}/`)))));
    }
  }
  assert.ok(loadedByUrl.size >= 2, "the walker and copier Workers are found");
  for (const m of LAZY_MODULES) loadedByUrl.add(m);
  for (const m of loadedByUrl) assert.ok(INCLUDES.includes(m), `${m} is not in INCLUDES`);
  for (const m of INCLUDES) Deno.statSync(join(ROOT, m));
});

Deno.test("build graph: no dynamic import the compiler cannot see, outside the lazy loader", () => {
  const bad: string[] = [];
  for (const f of LIB) {
    for (const m of code(f).matchAll(/(?<![\w.])import\(\s*([^)]*)\)/g)) {
      const arg = m[1]!.trim();
      if (/^"node:[a-z_/]+"$/.test(arg) || /^"[^"]+"$/.test(arg) && f !== "lib/lazy.ts") continue;
      if (f === "lib/lazy.ts" && arg.startsWith("new URL(")) continue;
      bad.push(`${f}: import(${arg})`);
    }
    if (f === "lib/lazy.ts") continue; // the loader itself
    for (const m of code(f).matchAll(/lazyImport(?:<[^>]*>)?\(\s*([^)]*)\)/g)) {
      const arg = m[1]!.trim();
      const name = /^"([^"]+)"$/.exec(arg)?.[1];
      if (!name || !(LAZY_MODULES as readonly string[]).includes(name)) bad.push(`${f}: ${m[0]}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("build graph: no FFI, no blob-URL Workers, no file read relative to the source tree", () => {
  const bad: string[] = [];
  for (const f of LIB) {
    const t = code(f);
    if (/Deno\.dlopen|UnsafePointer|UnsafeCallback/.test(t)) bad.push(`${f}: FFI`);
    if (/createObjectURL|new Worker\(\s*(?!new URL)/.test(t)) {
      bad.push(`${f}: a Worker not from a file`);
    }
    for (const m of t.matchAll(/import\.meta\.(url|dirname|filename)/g)) {
      const line = t.slice(t.lastIndexOf("\n", m.index) + 1, t.indexOf("\n", m.index));
      // Allowed: Workers and lazy modules by URL (both in INCLUDES), and `import.meta.main`.
      if (
        /new Worker\(|new URL\("\.\/[a-z_]+\.ts", import\.meta\.url\)|new URL\(`\.\.\/\$\{path\}`/
          .test(line)
      ) {
        continue;
      }
      bad.push(`${f}: ${line.trim()}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("build graph: only local files, Node built-ins and npm packages locked in deno.lock; no native addon", async () => {
  const lock = JSON.parse(text("deno.lock"));
  const locked = new Set(Object.keys(lock.npm ?? {}));
  const schemes = new Set<string>();
  const packageSet = new Set<string>();
  for (const root of ["cli.ts", ...INCLUDES]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", root],
      cwd: ROOT,
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    for (const m of info.modules) schemes.add(String(m.specifier).split(":")[0] ?? "");
    for (const p of Object.keys(info.npmPackages ?? {})) packageSet.add(p);
  }
  assert.deepEqual([...schemes].filter((s) => !["file", "node", "npm"].includes(s)), []);
  const packages = [...packageSet];
  assert.ok(packages.some((p) => p.startsWith("@aws-sdk/client-s3@")), "the S3 client is in");
  for (const p of packages) {
    const base = p.replace(/_.*$/, ""); // peer-dependency suffixes
    assert.ok(locked.has(p) || locked.has(base), `${p} is not locked in deno.lock`);
  }
  // Native addons ship compiled .node files or a build recipe: none may be in the graph.
  const cache = JSON.parse(
    new TextDecoder().decode(
      (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output()).stdout,
    ),
  ).npmCache as string;
  const addons: string[] = [];
  for (const p of packages) {
    const at = p.lastIndexOf("@");
    const name = p.slice(0, at);
    const version = p.slice(at + 1).replace(/_.*$/, "");
    const dir = join(cache, "registry.npmjs.org", name, version);
    const walk = (d: string) => {
      for (const e of Deno.readDirSync(d)) {
        if (e.isDirectory && e.name !== "node_modules") walk(join(d, e.name));
        else if (e.name.endsWith(".node") || e.name === "binding.gyp") addons.push(join(d, e.name));
      }
    };
    try {
      walk(dir);
    } catch { /* not unpacked here: the lock's integrity covers it */ }
  }
  assert.deepEqual(addons, []);
});

Deno.test("start-up: a local run on a fresh machine fetches no npm package (the AWS SDK loads lazily)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-fresh-" });
  try {
    await Deno.mkdir(join(dir, "src"));
    await Deno.writeTextFile(join(dir, "src", "a.txt"), "a");
    for (const args of [["--version"], ["sync", join(dir, "src"), join(dir, "dst")]]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(ROOT, "cli.ts"), ...args],
        cwd: ROOT,
        env: { DENO_DIR: join(dir, "deno-dir"), NO_COLOR: "1" },
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      assert.ok(out.success, err);
      assert.doesNotMatch(err, /Download/, `ferry ${args.join(" ")} fetched: ${err.slice(0, 300)}`);
    }
    assert.equal(await Deno.readTextFile(join(dir, "dst", "a.txt")), "a");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task build: builds this machine's binary with checksums, or says in one line why it cannot", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "scripts/build.ts"), "--host"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const err = new TextDecoder().decode(out.stderr).trim();
  const { version } = JSON.parse(text("deno.json"));
  if (!out.success) {
    // Here deno compile cannot download its runtime: one line, exit 1.
    assert.equal(out.code, 1);
    assert.equal(err.split("\n").length, 1, err);
    assert.match(err, /^build: deno compile could not download its runtime .* DENORT_BIN/);
    return;
  }
  const { binaryName } = await import("../scripts/build.ts");
  const name = binaryName(version, Deno.build.target);
  const sums = text("dist/SHA256SUMS");
  assert.match(sums, new RegExp(`^[0-9a-f]{64}  ${name.replaceAll(".", "\\.")}$`, "m"));
  const run = await new Deno.Command(join(ROOT, "dist", name), { args: ["--version"] }).output();
  assert.equal(new TextDecoder().decode(run.stdout).trim(), `ferry ${version}`);
});

Deno.test("the binary, `deno task ferry` and the benchmarks run with the same V8 settings", async () => {
  const { V8_OPTION } = await import("../scripts/build.ts");
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  assert.ok(config.tasks.ferry.split(" ").includes(V8_OPTION), config.tasks.ferry);
  for (const f of ["scripts/bench.ts", "scripts/bench_s3.ts", "scripts/bench_startup.ts"]) {
    assert.match(await Deno.readTextFile(join(ROOT, f)), /V8_OPTION,\s/, f);
  }
});
