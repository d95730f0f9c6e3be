/**
 * Entries of archives made elsewhere that ferry reads with care: names written `./x` or `a//b`
 * (normalised, not refused).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { makeZip } from "./_zip_make.ts";

async function withArchive(
  bytes: Uint8Array,
  fn: (path: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-zip-names-" });
  try {
    const path = join(dir, "a.zip");
    await Deno.writeFile(path, bytes);
    await fn(path, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function text(z: ZipBackend, key: string): Promise<string> {
  return await new Response(await z.read(key)).text();
}

Deno.test("zip: entries named ./x and a//b are x and a/b (they point nowhere outside the root)", async () => {
  await withArchive(
    makeZip([{ name: "./x.txt", data: "x" }, { name: "a//b.txt", data: "b" }, {
      name: "./",
      data: "",
    }]),
    async (path) => {
      const z = new ZipBackend(path);
      try {
        await z.open();
        const l = await z.list();
        assert.deepEqual(l.problems, []);
        assert.deepEqual(l.entries.map((e) => e.key), ["a", "a/b.txt", "x.txt"]);
        assert.equal(await text(z, "x.txt"), "x");
        assert.equal(await text(z, "a/b.txt"), "b");
      } finally {
        await z.close();
      }
    },
  );
});
