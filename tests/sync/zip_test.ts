/**
 * The engine suite with a ZIP archive on either side: folder → archive and archive → folder.
 *
 * @module
 */
import { join } from "node:path";
import type { Backend } from "../../lib/backends/backend.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { type EngineFixture, engineSuite } from "./engine_suite.ts";

engineSuite("local -> zip", () => fixture("local", "zip"));
engineSuite("zip -> local", () => fixture("zip", "local"));

async function fixture(srcKind: "local" | "zip", dstKind: "local" | "zip"): Promise<EngineFixture> {
  const root = await Deno.makeTempDir({ prefix: "ferry-engine-zip-" });
  const make = async (kind: "local" | "zip", name: string, exists: boolean): Promise<Backend> => {
    if (kind === "local") {
      if (exists) await Deno.mkdir(join(root, name));
      return new LocalBackend(join(root, name));
    }
    const z = new ZipBackend(join(root, name + ".zip"));
    if (exists) await z.createRoot();
    return z;
  };
  const src = await make(srcKind, "src", true);
  const dst = await make(dstKind, "dst", false);
  const side = (s: "src" | "dst") => (s === "src" ? src : dst);
  const zipBytes = (b: Backend) => b instanceof ZipBackend ? b.bytesWritten : undefined;
  return {
    src,
    dst,
    async put(s, key, text, mtime = Date.now()) {
      const b = side(s);
      if (b instanceof LocalBackend) {
        // Written in place, as an editor does (the inode stays: renames stay provable).
        const p = join(b.root, ...key.split("/"));
        await Deno.mkdir(join(p, ".."), { recursive: true });
        await Deno.writeTextFile(p, text);
        await Deno.utime(p, new Date(mtime), new Date(mtime));
        return;
      }
      if (!(await b.rootExists())) await b.createRoot();
      await b.open("write");
      const data = new TextEncoder().encode(text);
      const before = zipBytes(b);
      await b.write(key, ReadableStream.from([data]), { mtime, size: data.length });
      if (b instanceof ZipBackend) b.bytesWritten = before!; // setup writes are not ferry's
    },
    async read(s, key) {
      const b = side(s);
      if (!(await b.rootExists())) return undefined;
      await b.open("read");
      if ((await b.stat(key))?.kind !== "file") return undefined;
      return await new Response(await b.read(key)).text();
    },
    rename: (s, from, to) => side(s).move!(from, to),
    remove: (s, key) => side(s).remove(key),
    dstBytesWritten: () => Promise.resolve(zipBytes(dst)),
    cleanup: () => Deno.remove(root, { recursive: true }),
  };
}
