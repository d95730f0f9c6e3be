/**
 * ZIP archives against the tools people have: every archive ferry writes passes Info-ZIP's
 * `unzip -t`, `7z t`, `bsdtar -tf`, Python's `zipfile.testzip()` and a streaming reader
 * (`bsdtar` reading from a pipe, which goes from local header to local header); archives made
 * by Info-ZIP, 7-Zip and Python, and in the forms macOS Archive Utility and Windows Explorer
 * write, read correctly; names that point outside the root are refused
 * one by one; a damaged archive is one line, exit 2, and left untouched.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ferry, listFiles, summaryOf } from "../cli/_run.ts";
import { have, skipUnless } from "../_skips.ts";

const tools = ["unzip", "7z", "bsdtar", "python3", "zip"].filter((t) => !have(t));
const ignore = skipUnless(tools.length === 0, import.meta.url, `missing ${tools.join(", ")}`);

async function sh(cmd: string, cwd?: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("sh", {
    args: ["-c", cmd],
    ...(cwd ? { cwd } : {}),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** Every oracle accepts the archive; the streaming reader sees exactly the directory's names. */
async function oracles(zip: string): Promise<void> {
  const unzip = await sh(`unzip -tq '${zip}'`);
  assert.equal(unzip.code, 0, unzip.out);
  const sevenZip = await sh(`7z t '${zip}'`);
  assert.equal(sevenZip.code, 0, sevenZip.out);
  assert.match(sevenZip.out, /Everything is Ok/);
  const listed = await sh(`bsdtar -tf '${zip}'`);
  assert.equal(listed.code, 0, listed.out);
  const py = await sh(
    `python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); bad = z.testzip(); print(bad or ''); sys.exit(1 if bad else 0)" '${zip}'`,
  );
  assert.equal(py.code, 0, py.out);
  // A streaming reader (libarchive from a pipe): the same names as the directory, no more.
  const streamed = await sh(`bsdtar -tf - < '${zip}'`);
  assert.equal(streamed.code, 0, streamed.out);
  const names = (s: string) => s.split("\n").filter((l) => l.trim() !== "").sort();
  assert.deepEqual(names(streamed.out), names(listed.out));
}

/** Bytes that do not compress (random, in the 64 KiB pieces the API allows). */
function noise(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

const put = async (root: string, rel: string, data: string | Uint8Array, mtime?: number) => {
  const p = join(root, ...rel.split("/"));
  await Deno.mkdir(join(p, ".."), { recursive: true });
  if (typeof data === "string") await Deno.writeTextFile(p, data);
  else await Deno.writeFile(p, data);
  if (mtime) await Deno.utime(p, mtime / 1000, mtime / 1000);
};

Deno.test({
  name:
    "ferry's archives pass every oracle, after a first sync and after renames, edits and deletions",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-zip-oracle-" });
    try {
      const src = join(dir, "src");
      const big = noise(9 << 20); // streamed, not compressible
      await put(src, "big.bin", big);
      await put(src, "text/readme.txt", "hello ".repeat(5000), 1_600_000_000_123);
      await put(src, "unicode/日本語 ünï.txt", "ü");
      await put(src, "empty.txt", "");
      await put(src, "keep/a/b/c.txt", "deep");
      await Deno.mkdir(join(src, "empty folder"));
      const zip = join(dir, "out.zip");
      let r = await ferry(["sync", src, `zip:${zip}`]);
      assert.equal(r.code, 0, r.stderr);
      await oracles(zip);
      // Back the other way: the same tree, byte for byte, with the times.
      const back = join(dir, "back");
      r = await ferry(["sync", `zip:${zip}`, back]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(listFiles(back), listFiles(src));
      assert.deepEqual(await Deno.readFile(join(back, "big.bin")), big);
      assert.equal(
        (await Deno.stat(join(back, "text/readme.txt"))).mtime?.getTime(),
        1_600_000_000_123,
      );
      assert.ok((await Deno.stat(join(back, "empty folder"))).isDirectory);
      // A rename, an edit, a deletion: in place, and still whole for every reader.
      await Deno.rename(join(src, "text"), join(src, "docs"));
      await put(src, "unicode/日本語 ünï.txt", "changed");
      await Deno.remove(join(src, "empty.txt"));
      const before = (await Deno.stat(zip)).size;
      r = await ferry(["sync", src, `zip:${zip}`, "--delete", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const sum = summaryOf(r.stdout);
      assert.deepEqual([sum.moved, sum.updated, sum.deleted], [1, 1, 1]);
      assert.equal(sum.bytes, 7, "only the edited file's content was written");
      await oracles(zip);
      assert.ok((await Deno.stat(zip)).size < before + 64 * 1024, "no rewrite of the archive");
      // A resync is a no-op.
      r = await ferry(["sync", src, `zip:${zip}`, "--delete", "--json"]);
      const again = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      assert.deepEqual([again.copied, again.updated, again.moved, again.deleted], [0, 0, 0, 0]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "archives made by Info-ZIP zip, 7-Zip and Python read correctly as a source",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-zip-makers-" });
    try {
      const tree = join(dir, "tree");
      await put(tree, "a.txt", "alpha ".repeat(1000), 1_600_000_000_000);
      await put(tree, "sub/b.bin", noise(70_000));
      await put(tree, "sub/deeper/c.txt", "c");
      await put(tree, "ünïcödé.txt", "u");
      const makers: [string, string][] = [
        ["infozip.zip", `cd '${tree}' && zip -qr '${dir}/infozip.zip' .`],
        ["7zip.zip", `cd '${tree}' && 7z a -tzip '${dir}/7zip.zip' . > /dev/null`],
        [
          "python.zip",
          `cd '${tree}' && python3 -c "import os, zipfile
z = zipfile.ZipFile('${dir}/python.zip', 'w', zipfile.ZIP_DEFLATED)
for root, dirs, files in os.walk('.'):
    for f in files: z.write(os.path.join(root, f))
z.close()"`,
        ],
      ];
      for (const [name, cmd] of makers) {
        const made = await sh(cmd);
        assert.equal(made.code, 0, made.out);
        const out = join(dir, "out-" + name);
        const r = await ferry(["sync", `zip:${join(dir, name)}`, out]);
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
        assert.deepEqual(listFiles(out), listFiles(tree), name);
        for (const f of listFiles(tree)) {
          assert.deepEqual(
            await Deno.readFile(join(out, f)),
            await Deno.readFile(join(tree, f)),
            `${name}: ${f}`,
          );
        }
        // Times: to the second (Info-ZIP's extended timestamp) or better (7-Zip's NTFS field).
        const t = (await Deno.stat(join(out, "a.txt"))).mtime!.getTime();
        assert.ok(Math.abs(t - 1_600_000_000_000) < 2000, `${name}: ${t}`);
        // As a destination, the archive is in step with its tree already: each entry's own
        // precision (2 s DOS times, 1 s extended timestamps) is allowed for.
        const again = await ferry(["sync", tree, `zip:${join(dir, name)}`, "--json"]);
        assert.equal(again.code, 0, again.stderr);
        const sum = JSON.parse(again.stdout.trim().split("\n").at(-1)!);
        assert.deepEqual([sum.copied, sum.updated], [0, 0], `${name}: ${again.stdout}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "names that point outside the root are refused one by one (zip-slip); the rest is copied",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-zip-slip-" });
    try {
      const zip = join(dir, "evil.zip");
      const made = await sh(`python3 -c "import zipfile
z = zipfile.ZipFile('${zip}', 'w')
z.writestr('ok.txt', 'fine')
z.writestr('../escape.txt', 'bad')
z.writestr('/abs.txt', 'bad')
z.writestr('a/../../up.txt', 'bad')
z.writestr('C:/drive.txt', 'bad')
z.writestr('back\\\\\\\\slash.txt', 'bad')
z.close()"`);
      assert.equal(made.code, 0, made.out);
      const out = join(dir, "out", "inner");
      await Deno.mkdir(join(dir, "out"));
      const r = await ferry(["sync", `zip:${zip}`, out]);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(listFiles(out), ["ok.txt"]);
      assert.deepEqual(
        listFiles(join(dir, "out")).filter((f) => !f.startsWith("inner/.ferry/")),
        ["inner/ok.txt"],
        "nothing written outside",
      );
      assert.deepEqual(listFiles(dir).filter((f) => !f.startsWith("out/")), ["evil.zip"]);
      for (const name of ["escape.txt", "abs.txt", "up.txt", "drive.txt", "slash.txt"]) {
        assert.match(r.stderr, new RegExp(name.replace(".", "\\.")), name);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a damaged or cut-short archive is one line and exit 2, and is left as it was",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-zip-bad-" });
    try {
      const good = join(dir, "good.zip");
      await put(dir, "t/a.txt", "x".repeat(10_000));
      assert.equal((await sh(`cd '${dir}/t' && zip -qr '${good}' .`)).code, 0);
      const bytes = await Deno.readFile(good);
      const cases: [string, Uint8Array][] = [
        ["cut.zip", bytes.subarray(0, bytes.length - 30)],
        ["garbage.zip", crypto.getRandomValues(new Uint8Array(4096))],
        ["empty.zip", new Uint8Array(0)],
      ];
      for (const [name, data] of cases) {
        const p = join(dir, name);
        await Deno.writeFile(p, data);
        for (
          const args of [["sync", `zip:${p}`, join(dir, "out")], [
            "sync",
            join(dir, "t"),
            `zip:${p}`,
          ]]
        ) {
          const r = await ferry(args);
          assert.equal(r.code, 2, `${name}: ${r.stderr}`);
          assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
          assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
          assert.deepEqual(await Deno.readFile(p), data, `${name} untouched`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "dead space past a quarter of the archive is compacted away; a rename plus an edit leaves no stale entry",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-zip-compact-" });
    try {
      const src = join(dir, "src");
      for (let i = 0; i < 40; i++) await put(src, `f${i}.bin`, noise(20_000));
      const zip = join(dir, "a.zip");
      let r = await ferry(["sync", src, `zip:${zip}`]);
      assert.equal(r.code, 0, r.stderr);
      const full = (await Deno.stat(zip)).size;
      // A rename and an edit of the same file in one run, then a resync (in place: no compaction).
      // The trash is off: what it keeps is no dead space (its expiry later makes some).
      await Deno.rename(join(src, "f0.bin"), join(src, "g0.bin"));
      await put(src, "g0.bin", noise(20_000));
      r = await ferry(["sync", src, `zip:${zip}`, "--delete", "--no-trash"]);
      assert.equal(r.code, 0, r.stderr);
      await oracles(zip);
      assert.ok((await Deno.stat(zip)).size > full, "the replaced bytes are still there, as holes");
      // Most files deleted: the holes pass a quarter of the archive, which is written again.
      for (let i = 1; i < 30; i++) await Deno.remove(join(src, `f${i}.bin`));
      r = await ferry(["sync", src, `zip:${zip}`, "--delete", "--force", "--no-trash"]);
      assert.equal(r.code, 0, r.stderr);
      await oracles(zip);
      const after = (await Deno.stat(zip)).size;
      assert.ok(after < full * 0.35, `compacted to ${after} of ${full} bytes`);
      const back = join(dir, "back");
      r = await ferry(["sync", `zip:${zip}`, back]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(listFiles(back), listFiles(src));
      for (const f of listFiles(src)) {
        assert.deepEqual(await Deno.readFile(join(back, f)), await Deno.readFile(join(src, f)), f);
      }
      assert.deepEqual(
        [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
        ["a.zip", "back", "src"],
        "no journal or compaction file left",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "many small files (packed by two Workers) land whole and in step, and a resync is a no-op",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-zip-many-" });
    try {
      const src = join(dir, "src");
      for (let i = 0; i < 700; i++) {
        await put(
          src,
          `d${i % 7}/f${i}.txt`,
          `file ${i} `.repeat(i % 50 + 1),
          1_600_000_000_000 + i,
        );
      }
      await put(src, "big/incompressible.bin", noise(300_000)); // streamed, among them
      const zip = join(dir, "many.zip");
      let r = await ferry(["sync", src, `zip:${zip}`, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1)!).copied, 701);
      await oracles(zip);
      const back = join(dir, "back");
      r = await ferry(["sync", `zip:${zip}`, back]);
      assert.equal(r.code, 0, r.stderr);
      for (const f of listFiles(src)) {
        assert.deepEqual(await Deno.readFile(join(back, f)), await Deno.readFile(join(src, f)), f);
        assert.equal(
          (await Deno.stat(join(back, f))).mtime?.getTime(),
          (await Deno.stat(join(src, f))).mtime?.getTime(),
          f,
        );
      }
      r = await ferry(["sync", src, `zip:${zip}`, "--json"]);
      const again = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      assert.deepEqual([again.copied, again.updated], [0, 0]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "an archive whose comment was cut short is read as unzip and Python read it, never as the archive stored inside it",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-zip-comment-" });
    try {
      const zip = join(dir, "outer.zip");
      // An archive stored (not compressed) inside another: its end record sits in the outer
      // one's data, where a reader that skips the outer end record would find it.
      const made = await sh(`python3 -c "import io, zipfile
inner = io.BytesIO()
with zipfile.ZipFile(inner, 'w') as z:
    z.writestr('inside.txt', 'inner file')
with zipfile.ZipFile('${zip}', 'w') as z:
    z.writestr('top.txt', 'outer file')
    z.writestr('nested.zip', inner.getvalue())
    z.comment = b'a comment that will be cut short'
"`);
      assert.equal(made.code, 0, made.out);
      const bytes = await Deno.readFile(zip);
      await Deno.writeFile(zip, bytes.subarray(0, bytes.length - 10));
      const py = await sh(
        `python3 -c "import sys, zipfile; print(sorted(zipfile.ZipFile(sys.argv[1]).namelist()))" '${zip}'`,
      );
      assert.equal(py.out.trim(), "['nested.zip', 'top.txt']", py.out);
      const out = join(dir, "out");
      const r = await ferry(["sync", `zip:${zip}`, out]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(listFiles(out), ["nested.zip", "top.txt"]);
      assert.equal(await Deno.readTextFile(join(out, "top.txt")), "outer file");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * Archives in the forms macOS Archive Utility and Windows Explorer write them, made here with
 * Python's zipfile (entries streamed, so each has a data descriptor) and the traits each tool
 * gives its entries set by hand.
 */
const FOREIGN_ARCHIVES = `import io, struct, sys, time, unicodedata, zipfile

class Unseekable(io.RawIOBase):
    def __init__(self, f): self.f = f
    def writable(self): return True
    def write(self, b): return self.f.write(b)

class OemInfo(zipfile.ZipInfo):
    # A name in code page 437 without the UTF-8 flag.
    def _encodeFilenameFlags(self):
        return self.filename.encode('cp437'), self.flag_bits

def clear_utf8_flag(path):
    b = bytearray(open(path, 'rb').read())
    for sig, at in ((b'PK\\x03\\x04', 6), (b'PK\\x01\\x02', 8)):
        i = b.find(sig)
        while i >= 0:
            struct.pack_into('<H', b, i + at, struct.unpack_from('<H', b, i + at)[0] & ~0x800)
            i = b.find(sig, i + 4)
    open(path, 'wb').write(b)

mtime = 1700000000
with open(sys.argv[1], 'wb') as raw:
    with zipfile.ZipFile(Unseekable(raw), 'w') as z:
        for name, data in [('Fotos/', b''),
                           (unicodedata.normalize('NFD', 'Fotos/Café crème.txt'), b'cafe ' * 100),
                           ('Notes.txt', b'plain notes\\n'),
                           ('__MACOSX/._Notes.txt', b'\\x00\\x05\\x16\\x07' + b'\\x00' * 60)]:
            zi = zipfile.ZipInfo(name, time.localtime(mtime)[:6])
            zi.create_system = 3
            zi.external_attr = (0o40755 if name.endswith('/') else 0o100644) << 16
            zi.extra = struct.pack('<HHBi', 0x5455, 5, 1, mtime)
            zi.compress_type = zipfile.ZIP_STORED if name.endswith('/') else zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
clear_utf8_flag(sys.argv[1])

with open(sys.argv[2], 'wb') as raw:
    with zipfile.ZipFile(Unseekable(raw), 'w') as z:
        for name, data in [('Rapport/', b''), ('Rapport/Résumé été.txt', b'resume ' * 50),
                           ('Zahlen_ä.csv', b'1;2;3\\n')]:
            zi = OemInfo(name, (2024, 3, 5, 14, 7, 33))
            zi.create_system = 0
            zi.external_attr = 0x10 if name.endswith('/') else 0x20
            zi.compress_type = zipfile.ZIP_STORED if name.endswith('/') else zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
`;

/** The file names an archive's directory holds, decoded from their stored bytes, in NFC. */
const STORED_NAMES = `import json, sys, unicodedata, zipfile

def raw(i):
    return i.orig_filename.encode('utf-8' if i.flag_bits & 0x800 else 'cp437')

def text(b):
    try:
        return b.decode('utf-8')
    except UnicodeDecodeError:
        return b.decode('cp437')

names = [unicodedata.normalize('NFC', text(raw(i)))
         for i in zipfile.ZipFile(sys.argv[1]).infolist() if not i.filename.endswith('/')]
print(json.dumps(sorted(names)))
`;

Deno.test({
  name:
    "archives in the forms macOS Archive Utility and Windows Explorer write are read, kept in step and updated",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-zip-foreign-" });
    try {
      const script = join(dir, "make.py");
      await Deno.writeTextFile(script, FOREIGN_ARCHIVES);
      const mac = join(dir, "mac.zip");
      const win = join(dir, "win.zip");
      const made = await sh(`python3 '${script}' '${mac}' '${win}'`);
      const namesScript = join(dir, "names.py");
      await Deno.writeTextFile(namesScript, STORED_NAMES);
      assert.equal(made.code, 0, made.out);
      const names = async (zip: string) =>
        JSON.parse(
          (await sh(
            `python3 -c "import json, sys, zipfile; print(json.dumps([i.flag_bits & 0x808 for i in zipfile.ZipFile(sys.argv[1]).infolist()]))" '${zip}'`,
          )).out,
        ) as number[];
      // The traits are there: data descriptors (0x8), no UTF-8 flag (0x800).
      assert.ok((await names(mac)).every((f) => f === 0x8));
      assert.ok((await names(win)).every((f) => f === 0x8));

      // macOS: a UTF-8 name in NFD without the flag becomes its NFC form; the time is UT's.
      const outMac = join(dir, "mac");
      let r = await ferry(["sync", `zip:${mac}`, outMac]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(listFiles(outMac), [
        "Fotos/Café crème.txt",
        "Notes.txt",
        "__MACOSX/._Notes.txt",
      ]);
      assert.equal(
        await Deno.readTextFile(join(outMac, "Fotos", "Café crème.txt")),
        "cafe ".repeat(100),
      );
      assert.equal((await Deno.stat(join(outMac, "Notes.txt"))).mtime!.getTime(), 1700000000_000);

      // Windows: code page 437 names; the DOS time is local time, to 2 s.
      const outWin = join(dir, "win");
      r = await ferry(["sync", `zip:${win}`, outWin]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(listFiles(outWin), ["Rapport/Résumé été.txt", "Zahlen_ä.csv"]);
      assert.equal(await Deno.readTextFile(join(outWin, "Zahlen_ä.csv")), "1;2;3\n");
      assert.equal(
        (await Deno.stat(join(outWin, "Zahlen_ä.csv"))).mtime!.getTime(),
        new Date(2024, 2, 5, 14, 7, 32).getTime(),
      );

      for (const [zip, out] of [[mac, outMac], [win, outWin]] as const) {
        // A rerun is a no-op; so is the way back, before anything changed.
        r = await ferry(["sync", `zip:${zip}`, out, "--json"]);
        assert.deepEqual([summaryOf(r.stdout).copied, summaryOf(r.stdout).updated], [0, 0]);
        const other = join(dir, `back-${zip.endsWith("mac.zip") ? "mac" : "win"}.db`);
        r = await ferry(["sync", out, `zip:${zip}`, "--state", other, "--json"]);
        assert.deepEqual(
          [summaryOf(r.stdout).copied, summaryOf(r.stdout).updated],
          [0, 0],
          r.stderr,
        );
        // An edit and a new file go into the archive as they were made; every oracle accepts it,
        // and no entry is there twice (the NFD one is the same file as its NFC key).
        await put(out, "neu/neu.txt", "new");
        r = await ferry(["sync", out, `zip:${zip}`, "--state", other, "--json"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(summaryOf(r.stdout).copied, 1);
        await oracles(zip);
        // Each file once in the directory, whatever form its name is stored in: the stored
        // bytes as UTF-8 where they are that, else code page 437, in NFC.
        const stored = await sh(`python3 '${namesScript}' '${zip}'`);
        assert.equal(stored.code, 0, stored.out);
        assert.deepEqual(JSON.parse(stored.out), listFiles(out));
        const back = join(dir, `again-${zip.endsWith("mac.zip") ? "mac" : "win"}`);
        r = await ferry(["sync", `zip:${zip}`, back]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(listFiles(back), listFiles(out));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
