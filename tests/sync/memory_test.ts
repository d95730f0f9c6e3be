import { MemoryBackend } from "../../lib/backends/memory.ts";
import { engineSuite } from "./engine_suite.ts";

engineSuite("memory -> memory", () => {
  const src = new MemoryBackend({ name: "mem-src" });
  const dst = new MemoryBackend({ name: "mem-dst", missingRoot: true });
  const side = (s: "src" | "dst") => (s === "src" ? src : dst);
  return Promise.resolve({
    src,
    dst,
    async put(s, key, text, mtime = Date.now()) {
      const b = side(s);
      await b.createRoot();
      const data = new TextEncoder().encode(text);
      const before = b.bytesWritten;
      await b.write(key, ReadableStream.from([data]), { mtime, size: data.length });
      b.bytesWritten = before; // setup writes are not ferry's transfers
    },
    async read(s, key) {
      const b = side(s);
      if (!(await b.stat(key))) return undefined;
      return await new Response(await b.read(key)).text();
    },
    rename: (s, from, to) => side(s).move(from, to),
    remove: (s, key) => side(s).remove(key),
    dstBytesWritten: () => Promise.resolve(dst.bytesWritten),
    cleanup: () => Promise.resolve(),
  });
});
