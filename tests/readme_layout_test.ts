/**
 * The README's Development layout names every module in lib/, so that it stays a true map of
 * the code: a new file fails this test until the layout says what it is.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The code block that follows `## Development` in README.md. */
function layout(): string {
  const readme = Deno.readTextFileSync(`${ROOT}/README.md`);
  const at = readme.indexOf("\n## Development\n");
  assert.ok(at !== -1, "README.md has a Development section");
  const block = readme.slice(at).match(/```\n([\s\S]*?)```/);
  assert.ok(block, "the Development section has a layout block");
  return block[1]!;
}

function* files(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(`${ROOT}/${dir}`)) {
    if (e.isDirectory) yield* files(`${dir}/${e.name}`);
    else if (e.name.endsWith(".ts")) yield `${dir}/${e.name}`;
  }
}

/** `name` as a whole name in `text` (not the tail of `find_walk.ts` nor of `a/walk.ts`'s folder). */
function names(text: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![\\w./-])${escaped}(?![\\w/])`).test(text);
}

/**
 * Whether the layout names `file`: by its whole path, or inside the entry of one of its folders
 * (a line that starts with the folder's path, and the indented lines after it) by its name and
 * the folders between (`lib/backends/` … `local/ (walk.ts …`). Loose on purpose: a name is not
 * tied to the subfolder it is written under, only to the entry.
 */
export function layoutNames(block: string, file: string): boolean {
  if (names(block, file)) return true;
  const entries = block.split(/\n(?=\S)/);
  return entries.some((entry) => {
    const head = entry.split(/\s/, 1)[0]!;
    if (!head.endsWith("/") || !file.startsWith(head)) return false;
    const parts = file.slice(head.length).split("/");
    const name = parts.pop()!;
    return names(entry, name) && parts.every((dir) => names(entry, `${dir}/`));
  });
}

Deno.test("README's Development layout names every file in lib/", () => {
  const block = layout();
  const missing = [...files("lib")].sort().filter((f) => !layoutNames(block, f));
  assert.deepEqual(missing, [], "add these to the layout in README.md (## Development)");
});

Deno.test("layoutNames() finds a file by its path or in its folder's entry, not by a longer name", () => {
  const block = "lib/sync.ts  one pass\nlib/backends/  memory.ts, local/ (find_walk.ts,\n" +
    "                tree.ts)\nlib/util/pool.ts  a pool";
  assert.ok(layoutNames(block, "lib/sync.ts"));
  assert.ok(layoutNames(block, "lib/backends/memory.ts"));
  assert.ok(layoutNames(block, "lib/backends/local/tree.ts"));
  assert.ok(!layoutNames(block, "lib/backends/local/walk.ts"));
  assert.ok(!layoutNames(block, "lib/util/timer.ts"));
  assert.ok(!layoutNames(block, "lib/mirror.ts"));
});
