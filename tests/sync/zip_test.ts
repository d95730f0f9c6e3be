/**
 * The engine suite with a ZIP archive on either side: folder ↔ archive and archive ↔ S3
 * (s3rver).
 *
 * @module
 */
import { join } from "node:path";
import type { Backend } from "../../lib/backends/backend.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { S3Backend } from "../../lib/backends/s3.ts";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { startS3rver } from "../servers/s3rver.ts";
import { type EngineFixture, engineSuite } from "./engine_suite.ts";

type Kind = "local" | "zip" | "s3";

const server = await startS3rver(["zipengine"]);
let n = 0;

engineSuite("local -> zip", () => fixture("local", "zip"));
engineSuite("zip -> local", () => fixture("zip", "local"));
engineSuite("zip -> s3", () => fixture("zip", "s3"));
engineSuite("s3 -> zip", () => fixture("s3", "zip"));

Deno.test({
  name: "zip engine suite: stop the S3 test server",
  fn: () => server.stop(),
  sanitizeOps: false,
  sanitizeResources: false,
});

async function fixture(srcKind: Kind, dstKind: Kind): Promise<EngineFixture> {
  const root = await Deno.makeTempDir({ prefix: "ferry-engine-zip-" });
  const make = async (kind: Kind, name: string, exists: boolean): Promise<Backend> => {
    if (kind === "local") {
      if (exists) await Deno.mkdir(join(root, name));
      return new LocalBackend(join(root, name));
    }
    if (kind === "s3") {
      return new S3Backend({
        bucket: "zipengine",
        prefix: `case${n++}`,
        display: "s3://zipengine",
        endpoint: server.endpoint,
        pathStyle: true,
      });
    }
    const z = new ZipBackend(join(root, name + ".zip"));
    if (exists) await z.createRoot();
    return z;
  };
  const src = await make(srcKind, "src", true);
  const dst = await make(dstKind, "dst", false);
  const side = (s: "src" | "dst") => (s === "src" ? src : dst);
  const written = (b: Backend) =>
    b instanceof ZipBackend ? b.bytesWritten : b instanceof S3Backend ? b.bytesUploaded : undefined;
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
      const before = written(b);
      await b.write(key, ReadableStream.from([data]), { mtime, size: data.length });
      // Setup writes are not ferry's.
      if (b instanceof ZipBackend) b.bytesWritten = before!;
      if (b instanceof S3Backend) b.bytesUploaded = before!;
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
    dstBytesWritten: () => Promise.resolve(written(dst)),
    async cleanup() {
      await src.close();
      await dst.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}
