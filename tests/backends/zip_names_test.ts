/**
 * Entries of archives made elsewhere that ferry reads with care: names written `./x` or `a//b`
 * (normalised, not refused), a name held twice (reported, left alone), an encrypted entry
 * (reported as unreadable, kept in every directory ferry writes).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { ferry } from "../cli/_run.ts";
import { makeZip, namesIn } from "./_zip_make.ts";

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

const put = (z: ZipBackend, key: string, s: string) =>
  z.write(key, ReadableStream.from([new TextEncoder().encode(s)]), {
    size: new TextEncoder().encode(s).length,
    mtime: Date.now(),
  });

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

Deno.test("zip: two entries of one name are a listing problem naming it; that path is left alone and both entries stay", async () => {
  await withArchive(
    makeZip([{ name: "x.txt", data: "first" }, { name: "y.txt", data: "y" }, {
      name: "x.txt",
      data: "second",
    }]),
    async (path) => {
      const z = new ZipBackend(path);
      try {
        await z.open();
        const l = await z.list();
        assert.deepEqual(l.entries.map((e) => e.key), ["y.txt"]);
        assert.equal(l.problems.length, 1);
        assert.equal(l.problems[0]!.key, "x.txt");
        assert.match(l.problems[0]!.message, /2 entries of this name/);
        await assert.rejects(put(z, "x.txt", "third"), /left as it is/);
        await put(z, "z.txt", "z");
      } finally {
        await z.close();
      }
      assert.deepEqual(namesIn(await Deno.readFile(path)).sort(), [
        "x.txt",
        "x.txt",
        "y.txt",
        "z.txt",
      ]);
    },
  );
});

Deno.test("zip: an encrypted entry is reported as unreadable, left alone, and kept when the archive is updated", async () => {
  await withArchive(
    makeZip([{ name: "secret.txt", data: "????", encrypted: true }, {
      name: "ok.txt",
      data: "ok",
    }]),
    async (path) => {
      const z = new ZipBackend(path);
      try {
        await z.open();
        const l = await z.list();
        assert.deepEqual(l.entries.map((e) => e.key), ["ok.txt"]);
        assert.deepEqual(l.problems.map((p) => [p.key, p.op]), [["secret.txt", "read"]]);
        await put(z, "new.txt", "new");
      } finally {
        await z.close();
      }
      assert.deepEqual(namesIn(await Deno.readFile(path)).sort(), [
        "new.txt",
        "ok.txt",
        "secret.txt",
      ]);
    },
  );
});

Deno.test("zip: a copy out of an archive names the encrypted entry it could not read as a read, and a name held twice as a listing", async () => {
  await withArchive(
    makeZip([
      { name: "secret.txt", data: "????", encrypted: true },
      { name: "twice.txt", data: "1" },
      { name: "twice.txt", data: "2" },
      { name: "ok.txt", data: "ok" },
    ]),
    async (path, dir) => {
      const r = await ferry(["sync", `zip:${path}`, join(dir, "out")]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /failed: read "?secret\.txt"?: encrypted/);
      assert.match(r.stderr, /failed: list "?twice\.txt"?: the archive holds 2 entries/);
      assert.equal(await Deno.readTextFile(join(dir, "out", "ok.txt")), "ok");
    },
  );
});
