/**
 * The function-length gate (scripts/fn_length.ts), run as `deno task ok` runs it, on source
 * files each test writes to its own temp dir.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../scripts/fn_length.ts", import.meta.url));

/** A function named `name` of exactly `lines` lines (its braces included). */
function fn(name: string, lines: number): string {
  return [`export function ${name}(): number {`, "  let n = 0;"]
    .concat(Array.from({ length: lines - 4 }, () => "  n++;"), ["  return n;", "}"])
    .join("\n");
}

async function gate(files: Record<string, string>, allow: Record<string, number> = {}) {
  const dir = Deno.makeTempDirSync({ prefix: "ferry-fn-length-" });
  try {
    Deno.mkdirSync(`${dir}/src`);
    for (const [name, text] of Object.entries(files)) {
      Deno.writeTextFileSync(`${dir}/src/${name}`, text);
    }
    Deno.writeTextFileSync(`${dir}/allow.json`, JSON.stringify(allow));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-lock",
        "--allow-read",
        "--allow-env",
        SCRIPT,
        "--allow",
        "allow.json",
        "src",
      ],
      cwd: dir,
      env: { NO_COLOR: "1" },
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("fn_length fails on a function over 120 lines and passes one of 120", async () => {
  const long = await gate({ "a.ts": fn("short", 120) + "\n" + fn("long", 121) + "\n" });
  assert.equal(long.code, 1, long.stdout + long.stderr);
  assert.equal(long.stderr.trim(), "src/a.ts:long has 121 lines, over 120: split it");
  const short = await gate({ "a.ts": fn("short", 120) + "\n" });
  assert.equal(short.code, 0, short.stdout + short.stderr);
  assert.match(short.stdout, /at most 120 lines; 1 functions in 1 files/);
});

Deno.test("fn_length lets a listed function keep its length, never grow, and prints the list", async () => {
  const method = "export class K {\n  /** Its JSDoc is not counted. */\n  " +
    fn("m", 130).replace("export function ", "").replaceAll("\n", "\n  ") + "\n}\n";
  const arrow = "export const f = () => {\n" + fn("inner", 125) + "\n  return inner();\n};\n";
  const files = { "k.ts": method, "f.ts": arrow };
  const ok = await gate(files, { "src/k.ts:K.m": 130, "src/f.ts:f": 129, "src/f.ts:f.inner": 125 });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /src\/k\.ts:K\.m: 130 lines \(listed 130\)\n/);
  assert.match(ok.stdout, /src\/f\.ts:f: 128 lines \(listed 129\), lower its entry/);
  const grown = await gate(files, {
    "src/k.ts:K.m": 129,
    "src/f.ts:f": 128,
    "src/f.ts:f.inner": 125,
  });
  assert.equal(grown.code, 1);
  assert.equal(grown.stderr.trim(), "src/k.ts:K.m has 130 lines, listed at 129: it may not grow");
});

Deno.test("fn_length fails on an allow-list entry that is gone or now short enough", async () => {
  const r = await gate({ "a.ts": fn("a", 10) + "\n" }, { "src/a.ts:a": 200, "src/b.ts:b": 150 });
  assert.equal(r.code, 1);
  assert.deepEqual(r.stderr.trim().split("\n"), [
    "src/a.ts:a is listed (200 lines) but now has 10: take it off the allow-list",
    "src/b.ts:b is listed (150 lines) but no longer found: take it off the allow-list",
  ]);
});
