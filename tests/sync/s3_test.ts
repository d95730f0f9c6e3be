/**
 * The engine suite between a local folder and S3 (s3rver), both ways.
 *
 * @module
 */
import { join } from "node:path";
import { LocalBackend } from "../../lib/backends/local.ts";
import { S3Backend } from "../../lib/backends/s3.ts";
import { startS3rver } from "../servers/s3rver.ts";
import { type EngineFixture, engineSuite } from "./engine_suite.ts";

const server = await startS3rver(["engine"]);
let n = 0;

async function fixture(s3Side: "src" | "dst"): Promise<EngineFixture> {
  const root = await Deno.makeTempDir({ prefix: "ferry-s3-engine-" });
  const dir = join(root, s3Side === "src" ? "dst" : "src");
  if (s3Side === "dst") await Deno.mkdir(dir);
  const local = new LocalBackend(dir);
  const s3 = new S3Backend({
    bucket: "engine",
    prefix: `case${n++}`,
    display: "s3://engine",
    endpoint: server.endpoint,
    pathStyle: true,
  });
  const side = (s: "src" | "dst") => (s === s3Side ? s3 : local);
  const p = (key: string) => join(dir, ...key.split("/"));
  return {
    src: side("src"),
    dst: side("dst"),
    async put(s, key, text, mtime = Date.now()) {
      if (s === s3Side) {
        const data = new TextEncoder().encode(text);
        const before = s3.bytesUploaded;
        await s3.write(key, ReadableStream.from([data]), { mtime, size: data.length });
        s3.bytesUploaded = before; // setup writes are not ferry's transfers
        return;
      }
      await Deno.mkdir(join(p(key), ".."), { recursive: true });
      await Deno.writeTextFile(p(key), text);
      await Deno.utime(p(key), new Date(mtime), new Date(mtime));
    },
    async read(s, key) {
      if (s === s3Side) {
        if (!(await s3.stat(key))) return undefined;
        return await new Response(await s3.read(key)).text();
      }
      try {
        return await Deno.readTextFile(p(key));
      } catch {
        return undefined;
      }
    },
    rename: (s, from, to) => side(s).move!(from, to),
    remove: (s, key) => side(s).remove(key),
    dstBytesWritten() {
      if (s3Side === "dst") return Promise.resolve(s3.bytesUploaded);
      return Promise.resolve(undefined);
    },
    async cleanup() {
      await s3.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

engineSuite("local -> s3", () => fixture("dst"));
engineSuite("s3 -> local", () => fixture("src"));

engineSuite("s3 -> s3", () => {
  const make = (name: string) =>
    new S3Backend({
      bucket: "engine",
      prefix: `case${n++}-${name}`,
      display: `s3://engine/${name}`,
      endpoint: server.endpoint,
      pathStyle: true,
    });
  const both = { src: make("a"), dst: make("b") };
  return Promise.resolve({
    ...both,
    async put(side, key, text, mtime = Date.now()) {
      const b = both[side];
      const data = new TextEncoder().encode(text);
      const before = b.bytesUploaded;
      await b.write(key, ReadableStream.from([data]), { mtime, size: data.length });
      b.bytesUploaded = before; // setup writes are not ferry's transfers
    },
    async read(side, key) {
      const b = both[side];
      if (!(await b.stat(key))) return undefined;
      return await new Response(await b.read(key)).text();
    },
    rename: (side, from, to) => both[side].move(from, to),
    remove: (side, key) => both[side].remove(key),
    dstBytesWritten: () => Promise.resolve(both.dst.bytesUploaded),
    async cleanup() {
      await both.src.close();
      await both.dst.close();
    },
  });
});

Deno.test({
  name: "sync (s3): stop the server",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => server.stop(),
});
