/**
 * Rules of the code's layout that no type checker sees, checked by reading the sources.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { FAST_PATHS } from "../lib/backends/backend.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...sources(rel));
    else if (rel.endsWith(".ts")) out.push(rel);
  }
  return out.sort();
}

const text = (f: string) => Deno.readTextFileSync(join(ROOT, f));

Deno.test("layering: outside lib/backends/, lib/ asks caps.local, never whether localPath is there", () => {
  const found: string[] = [];
  for (const f of sources("lib")) {
    if (f.startsWith("lib/backends/")) continue;
    text(f).split("\n").forEach((line, i) => {
      if (line.includes("localPath")) found.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});

Deno.test("layering: outside lib/backends/, lib/ takes fast paths through fastPath(), never by method", () => {
  const method = new RegExp(`\\.(${FAST_PATHS.join("|")})\\b`);
  const found: string[] = [];
  for (const f of sources("lib")) {
    if (f.startsWith("lib/backends/")) continue;
    text(f).split("\n").forEach((line, i) => {
      // A flag (`caps.fast?.listWith`) may be read; the method may not be called or tested.
      if (method.test(line.replaceAll(/\bfast\?\.\w+/g, ""))) {
        found.push(`${f}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(found, []);
  // The pattern finds such calls at all (a rule that matches nothing proves nothing).
  assert.ok(method.test("dst.copyMany(src, files)") && method.test("b.storedHash?.(key)"));
});

Deno.test("layering: lib/sync.ts and lib/mirror.ts import nothing from each other", () => {
  const from = (f: string) =>
    [...text(f).matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1]!);
  assert.deepEqual(from("lib/sync.ts").filter((m) => /(^|\/)mirror\.ts$/.test(m)), []);
  assert.deepEqual(from("lib/mirror.ts").filter((m) => /(^|\/)sync\.ts$/.test(m)), []);
  // The pattern finds imports at all (a rule that matches nothing proves nothing).
  assert.ok(from("lib/mirror.ts").includes("./pass/summary.ts"));
});
