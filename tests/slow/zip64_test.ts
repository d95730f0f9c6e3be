/**
 * ZIP64: an archive of more than 65,535 entries is written and read (2 s, in the default
 * suite); an entry of 5 GiB (from a sparse file) round-trips, which takes about a minute: run
 * it with `FERRY_SLOW=1 deno test -A tests/slow/` (the default suite leaves it out).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { ferry } from "../cli/_run.ts";
import { have, skipUnless } from "../_skips.ts";

const ignore = skipUnless(
  !!Deno.env.get("FERRY_SLOW"),
  import.meta.url,
  "the 5 GiB entry takes about a minute: FERRY_SLOW=1 deno test -A tests/slow/",
);

Deno.test({
  name: "ZIP64: an entry of 5 GiB round-trips (sparse source), and unzip -t accepts the archive",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-zip64-" });
    try {
      const src = join(dir, "src");
      await Deno.mkdir(src);
      const big = join(src, "sparse.bin");
      const f = await Deno.open(big, { write: true, create: true });
      await f.truncate(5 * 2 ** 30);
      await f.seek(0, Deno.SeekMode.End);
      await f.write(new TextEncoder().encode("tail"));
      f.close();
      const zip = join(dir, "big.zip");
      let r = await ferry(["sync", src, `zip:${zip}`]);
      assert.equal(r.code, 0, r.stderr);
      const t = await new Deno.Command("unzip", { args: ["-tq", zip] }).output();
      assert.ok(t.success, new TextDecoder().decode(t.stdout));
      const back = join(dir, "back");
      r = await ferry(["sync", `zip:${zip}`, back]);
      assert.equal(r.code, 0, r.stderr);
      const cmp = await new Deno.Command("cmp", { args: [big, join(back, "sparse.bin")] }).output();
      assert.ok(cmp.success, "the entry came back byte for byte");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ZIP64: more than 65,535 entries are written, read back and accepted by unzip -t",
  ignore: skipUnless(have("unzip"), import.meta.url, "unzip is not installed"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-zip64-" });
    try {
      const path = join(dir, "many.zip");
      const z = new ZipBackend(path);
      await z.createRoot();
      await z.begin();
      for (let i = 0; i < 70_000; i++) {
        const data = new TextEncoder().encode(`entry ${i}`);
        await z.write(`d${i % 100}/f${i}.txt`, ReadableStream.from([data]), {
          size: data.length,
          mtime: 1_600_000_000_000,
        });
      }
      await z.commit();
      const again = new ZipBackend(path);
      await again.open();
      const files = (await again.list()).entries.filter((e) => e.kind === "file");
      assert.equal(files.length, 70_000);
      assert.equal(await new Response(await again.read("d7/f69907.txt")).text(), "entry 69907");
      const t = await new Deno.Command("unzip", { args: ["-tq", path] }).output();
      assert.ok(t.success, new TextDecoder().decode(t.stdout));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
