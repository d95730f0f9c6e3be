/**
 * A ZIP update keeps the archive whole for other readers: untouched while the pass runs (new
 * entries packed beside it), appended to at commit; a commit cut short inside its append is
 * undone on the next open, one cut short after it is finished (its holes filled).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { besideArchive } from "../../lib/backends/zip/names.ts";
import { makeZip } from "./_zip_make.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const bytes = (s: string) => new TextEncoder().encode(s);
const put = (z: ZipBackend, key: string, data: Uint8Array) =>
  z.write(key, ReadableStream.from([data]), { size: data.length, mtime: Date.now() });

async function contents(path: string): Promise<Record<string, string>> {
  const z = new ZipBackend(path);
  const out: Record<string, string> = {};
  try {
    await z.open();
    for (const e of (await z.list()).entries) {
      if (e.kind === "file") out[e.key] = await new Response(await z.read(e.key)).text();
    }
  } finally {
    await z.close();
  }
  return out;
}

const have = (tool: string) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] }).outputSync().success;

/** Info-ZIP and a streaming reader (libarchive from a pipe) accept it, where installed. */
async function readable(path: string, names?: string[]): Promise<void> {
  if (have("unzip")) {
    const r = await new Deno.Command("unzip", { args: ["-tq", path] }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stdout));
  }
  if (have("bsdtar")) {
    const r = await new Deno.Command("sh", {
      args: ["-c", `bsdtar -tf - < '${path}'`],
      stdout: "piped",
    }).output();
    assert.equal(r.code, 0);
    const streamed = new TextDecoder().decode(r.stdout).split("\n").filter((l) => l).sort();
    assert.deepEqual(streamed, names ?? Object.keys(await contents(path)).sort(), "streamed");
  }
}

/** An archive of three entries, and an update of it (edit, new, large new, delete, rename). */
async function update(z: ZipBackend): Promise<void> {
  await z.begin();
  await put(z, "a.txt", bytes("a, edited"));
  await put(z, "n.txt", bytes("new"));
  await put(z, "big.bin", new Uint8Array(9 << 20).fill(7));
  await z.remove("b.txt");
  await z.move("c.txt", "d/c.txt");
}

const BEFORE = { "a.txt": "a", "b.txt": "b", "c.txt": "c" };
const AFTER = { "a.txt": "a, edited", "n.txt": "new", "d/c.txt": "c" };

async function scratch(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-zip-commit-" });
  try {
    const path = join(dir, "a.zip");
    await Deno.writeFile(
      path,
      makeZip(Object.entries(BEFORE).map(([name, data]) => ({ name, data }))),
    );
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("zip: an update leaves the archive untouched until it commits; the pack beside it goes", async () => {
  await scratch(async (path) => {
    const old = sha(await Deno.readFile(path));
    const z = new ZipBackend(path);
    try {
      await z.open();
      await update(z);
      assert.equal(sha(await Deno.readFile(path)), old, "the archive changed before commit");
      // Read back inside the pass: from the pack.
      assert.equal(await new Response(await z.read("a.txt")).text(), "a, edited");
      assert.equal(await new Response(await z.read("d/c.txt")).text(), "c");
      await readable(path, Object.keys(BEFORE));
      await z.commit();
    } finally {
      await z.close();
    }
    const { big, ...rest } = await contents(path);
    assert.equal(big, undefined);
    assert.deepEqual(rest, { ...AFTER, "big.bin": rest["big.bin"] });
    assert.equal(rest["big.bin"]!.length, 9 << 20);
    await readable(path);
    const left = [...Deno.readDirSync(join(path, ".."))].map((e) => e.name).sort();
    assert.deepEqual(left, ["a.zip"]);
  });
});

/**
 * Commit an update, but keep what a kill inside the commit would have left: the journal (its
 * removal fails), the archive as it was before and the bytes the commit appended.
 */
async function interrupted(
  path: string,
  change = update,
): Promise<{ old: Uint8Array; appended: Uint8Array; journal: Uint8Array }> {
  const old = await Deno.readFile(path);
  const journal = besideArchive(path, "journal");
  const z = new ZipBackend(path);
  const removeSync = Deno.removeSync;
  try {
    await z.open();
    await change(z);
    (Deno as { removeSync: typeof Deno.removeSync }).removeSync = (p, o) => {
      if (p === journal) throw new Error("killed");
      removeSync(p, o);
    };
    await assert.rejects(z.commit(), /killed/);
  } finally {
    (Deno as { removeSync: typeof Deno.removeSync }).removeSync = removeSync;
    await z.close();
  }
  const now = await Deno.readFile(path);
  return { old, appended: now.slice(old.length), journal: await Deno.readFile(journal) };
}

Deno.test("zip: a commit killed inside its append is cut back to the old archive on the next open", async () => {
  await scratch(async (path) => {
    const { old, appended, journal } = await interrupted(path);
    for (const cut of [0, 1, appended.length >> 1, appended.length - 1]) {
      const f = new Uint8Array(old.length + cut);
      f.set(old);
      f.set(appended.subarray(0, cut), old.length);
      await Deno.writeFile(path, f);
      await Deno.writeFile(besideArchive(path, "journal"), journal);
      assert.deepEqual(await contents(path), BEFORE, `cut after ${cut} bytes`);
      assert.equal(sha(await Deno.readFile(path)), sha(old));
      await assert.rejects(Deno.stat(besideArchive(path, "journal")), Deno.errors.NotFound);
    }
  });
});

Deno.test("zip: a commit killed after its append is kept, and its holes filled, on the next open", async () => {
  await scratch(async (path) => {
    const { old, appended, journal } = await interrupted(path);
    // The append whole, the old directory not yet covered.
    const f = new Uint8Array(old.length + appended.length);
    f.set(old);
    f.set(appended, old.length);
    await Deno.writeFile(path, f);
    await Deno.writeFile(besideArchive(path, "journal"), journal);
    const { "big.bin": big, ...rest } = await contents(path);
    assert.equal(big?.length, 9 << 20);
    assert.deepEqual(rest, AFTER);
    await assert.rejects(Deno.stat(besideArchive(path, "journal")), Deno.errors.NotFound);
    // The old directory is padding now: a streaming reader sees the new entries only.
    await readable(path);
  });
});

Deno.test("zip: an entry written twice in one update, the commit killed before its journal went: the next open keeps the update", async () => {
  await scratch(async (path) => {
    // The first entry packed (right after the old end) is replaced in the same pass: its hole
    // starts where the old directory's ends, and is filled in the pack, not across the two.
    await interrupted(path, async (z) => {
      await z.begin();
      await put(z, "n.txt", bytes("first"));
      await put(z, "n.txt", bytes("second"));
      await z.remove("b.txt");
    });
    assert.deepEqual(await contents(path), { "a.txt": "a", "c.txt": "c", "n.txt": "second" });
    await assert.rejects(Deno.stat(besideArchive(path, "journal")), Deno.errors.NotFound);
    await readable(path);
  });
});

Deno.test("zip: an update of more than 32 MiB is appended in pieces, whole, and survives a cut inside it", async () => {
  await scratch(async (path) => {
    const big = new Uint8Array(33 << 20);
    for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    const { old, appended, journal } = await interrupted(path, async (z) => {
      await z.begin();
      await put(z, "big.bin", big);
      await z.remove("a.txt");
    });
    assert.ok(appended.length > 33 << 20);
    // Cut inside the append (in its first piece, in its last): the old archive.
    for (const cut of [20 << 20, appended.length - 1]) {
      const f = new Uint8Array(old.length + cut);
      f.set(old);
      f.set(appended.subarray(0, cut), old.length);
      await Deno.writeFile(path, f);
      await Deno.writeFile(besideArchive(path, "journal"), journal);
      assert.deepEqual(await contents(path), BEFORE, `cut after ${cut} bytes`);
    }
    // Whole: the new one.
    const whole = new Uint8Array(old.length + appended.length);
    whole.set(old);
    whole.set(appended, old.length);
    await Deno.writeFile(path, whole);
    await Deno.writeFile(besideArchive(path, "journal"), journal);
    const z = new ZipBackend(path);
    try {
      await z.open();
      const got = new Uint8Array(await new Response(await z.read("big.bin")).arrayBuffer());
      assert.equal(sha(got), sha(big));
      assert.deepEqual((await z.list()).entries.map((e) => e.key), ["b.txt", "big.bin", "c.txt"]);
    } finally {
      await z.close();
    }
    await readable(path);
  });
});

Deno.test("zip: the journal of an earlier ferry (updates written over the old directory) still puts the archive back", async () => {
  await scratch(async (path) => {
    const old = await Deno.readFile(path);
    const v = new DataView(old.buffer);
    const cdAt = v.getUint32(old.length - 22 + 16, true);
    // FERRYZJ1: where the directory began, the old size, the CRC of the old tail, the tail.
    const tail = old.subarray(cdAt);
    const j = new Uint8Array(28 + tail.length);
    j.set(new TextEncoder().encode("FERRYZJ1"));
    const jv = new DataView(j.buffer);
    jv.setBigUint64(8, BigInt(cdAt), true);
    jv.setBigUint64(16, BigInt(old.length), true);
    jv.setUint32(24, crc32(tail), true);
    j.set(tail, 28);
    await Deno.writeFile(besideArchive(path, "journal"), j);
    // Killed while it wrote a new entry over the old directory.
    const torn = new Uint8Array(cdAt + 500).fill(0x41);
    torn.set(old.subarray(0, cdAt));
    await Deno.writeFile(path, torn);
    assert.deepEqual(await contents(path), BEFORE);
    assert.equal(sha(await Deno.readFile(path)), sha(old));
  });
});
