import assert from "node:assert/strict";
import { join } from "node:path";
import { type RawTree, walkTrees } from "../../lib/backends/local/walk.ts";

/** A tree wide and deep enough to be cut into many shared folders. */
async function makeTree(root: string, tag: string): Promise<void> {
  for (let a = 0; a < 5; a++) {
    for (let b = 0; b < 6; b++) {
      const dir = join(root, `a${a}`, `b${b}`, "c");
      await Deno.mkdir(dir, { recursive: true });
      for (let f = 0; f < 4; f++) await Deno.writeTextFile(join(dir, `f${f}.txt`), tag + a + b + f);
      await Deno.writeTextFile(join(root, `a${a}`, `b${b}`, "top.txt"), tag);
    }
  }
  await Deno.writeTextFile(join(root, "root.txt"), tag);
  await Deno.mkdir(join(root, "empty"));
}

/** An independent one-thread reference walk: path -> [dir flag, size, mtime, ino]. */
function referenceWalk(root: string, rel = "", out = new Map<string, number[]>()) {
  for (const e of Deno.readDirSync(rel === "" ? root : join(root, rel))) {
    const r = rel === "" ? e.name : `${rel}/${e.name}`;
    const st = Deno.lstatSync(join(root, r));
    out.set(r, [e.isDirectory ? 1 : 0, e.isDirectory ? 0 : st.size, st.mtime!.getTime(), st.ino!]);
    if (e.isDirectory) referenceWalk(root, r, out);
  }
  return out;
}

/** path -> [dir flag, size, mtime, ino], for comparing walks made in different orders. */
function byPath(t: RawTree): Map<string, number[]> {
  const m = new Map<string, number[]>();
  t.paths.forEach((p, i) => m.set(p, [t.dirs[i]!, t.sizes[i]!, t.mtimes[i]!, t.inos[i]!]));
  assert.equal(m.size, t.paths.length, "no path is listed twice");
  return m;
}

Deno.test("walkTrees() shares two trees between two threads and lists what a one-thread walk lists", async () => {
  const root = await Deno.makeTempDir({ prefix: "ferry-walk-" });
  try {
    const a = join(root, "a");
    const b = join(root, "b");
    await makeTree(a, "x");
    await makeTree(b, "yy");
    for (const options of [{ builtin: true }, { workerOnly: true }, {}]) {
      const [ta, tb] = await walkTrees([a, b], [], options);
      assert.deepEqual(byPath(ta!), referenceWalk(a));
      assert.deepEqual(byPath(tb!), referenceWalk(b));
      // The built-in walker lists alike trees in the same order, so the planner pairs them
      // without a map (find lists them in the file system's order).
      if (options !== undefined && "builtin" in options) assert.deepEqual(ta!.paths, tb!.paths);
      // A folder always comes before what it holds.
      const seen = new Set<string>();
      for (const p of ta!.paths) {
        const parent = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
        assert.ok(parent === "" || seen.has(parent), `${p} listed before its folder`);
        seen.add(p);
      }
      assert.equal(ta!.paths.length, 5 + 5 * 6 * 3 + 5 * 6 * 4 + 2);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("walkTrees() applies exclusions in both threads and refuses a missing root", async () => {
  const root = await Deno.makeTempDir({ prefix: "ferry-walk-" });
  try {
    await makeTree(root, "x");
    for (const options of [{ builtin: true }, { workerOnly: true }, {}]) {
      const [t] = await walkTrees([root], ["c/", "top.txt"], options);
      assert.deepEqual(t!.paths.filter((p) => p.endsWith("/c") || p.endsWith("top.txt")), []);
      assert.equal(t!.paths.length, 5 + 5 * 6 + 2);
    }
    await assert.rejects(() => walkTrees([join(root, "missing")], []), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
