import { join } from "node:path";
import { disableFastPaths } from "../../lib/backends/backend.ts";
import { LocalBackend, type LocalOptions } from "../../lib/backends/local.ts";
import { type EngineFixture, engineSuite } from "./engine_suite.ts";

/**
 * Both trees are walked by the source's walker: the default one (GNU find on Linux, else the
 * built-in walker) and the built-in walker with the Worker doing all the shared work. Then the
 * same folders with every fast path off (copy Workers, copies from OS paths, both trees walked
 * together…): the general path, as remote locations take it, run over local folders.
 */
for (
  const [name, options, fast] of [
    ["", {}, true],
    [", walk in a Worker", { listInWorker: true }, true],
    [", fast paths off", {}, false],
  ] as const
) {
  engineSuite(`local -> local${name}`, () => fixture(options, fast));
}

async function fixture(options: LocalOptions, fast: boolean): Promise<EngineFixture> {
  const root = await Deno.makeTempDir({ prefix: "ferry-engine-" });
  const dirs = { src: join(root, "src"), dst: join(root, "dst") };
  await Deno.mkdir(dirs.src);
  const src = new LocalBackend(dirs.src, options);
  const dst = new LocalBackend(dirs.dst);
  if (!fast) {
    disableFastPaths(src);
    disableFastPaths(dst);
  }
  const p = (s: "src" | "dst", key: string) => join(dirs[s], ...key.split("/"));
  /** Sum of the sizes of files whose inode the destination has not seen before. */
  const seen = new Map<number, number>();
  return {
    src,
    dst,
    async put(s, key, text, mtime = Date.now()) {
      await Deno.mkdir(join(p(s, key), ".."), { recursive: true });
      await Deno.writeTextFile(p(s, key), text);
      await Deno.utime(p(s, key), new Date(mtime), new Date(mtime));
      if (s === "dst") seen.set((await Deno.stat(p(s, key))).ino ?? 0, 0);
    },
    async read(s, key) {
      try {
        return await Deno.readTextFile(p(s, key));
      } catch {
        return undefined;
      }
    },
    rename: (s, from, to) => Deno.rename(p(s, from), p(s, to)),
    remove: (s, key) => Deno.remove(p(s, key)),
    async dstBytesWritten() {
      // A local move keeps the inode; any rewrite makes a new one. Count bytes of new inodes.
      let total = 0;
      for (const e of (await dst.list()).entries) {
        if (e.kind !== "file" || !e.ino) continue;
        if (!seen.has(e.ino)) seen.set(e.ino, e.size);
      }
      for (const v of seen.values()) total += v;
      return total;
    },
    cleanup: () => Deno.remove(root, { recursive: true }),
  };
}
