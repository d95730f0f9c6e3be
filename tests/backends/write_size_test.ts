/**
 * Every backend's `write` takes exactly the bytes the source promised (`meta.size`): a stream
 * that ends early or goes on past it fails the write, and nothing at the name changes (a new
 * name stays absent, an old file keeps its content), and a source that goes on is not read
 * to its end. FTP checks this in its own tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Backend } from "../../lib/backends/backend.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { S3Backend } from "../../lib/backends/s3.ts";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { startS3rver } from "../servers/s3rver.ts";

/** `n` bytes of a repeating pattern, in chunks of at most `chunk` bytes. */
function chunked(n: number, chunk = 64 << 10): ReadableStream<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < n; at += chunk) {
    const part = new Uint8Array(Math.min(chunk, n - at));
    for (let i = 0; i < part.length; i++) part[i] = (at + i) & 0xff;
    parts.push(part);
  }
  return ReadableStream.from(parts);
}

/** 64 MiB in 64 KiB chunks, made as they are asked for; `pulled()` says how many were. */
function flood(): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled >= 64 << 20) return c.close();
      pulled += 64 << 10;
      c.enqueue(new Uint8Array(64 << 10));
    },
  }, { highWaterMark: 0 });
  return { stream, pulled: () => pulled };
}

const text = async (b: Backend, key: string) => await new Response(await b.read(key)).text();

interface Subject {
  backend: Backend;
  /** Called after the writes (a ZIP archive commits); returns the backend to look at. */
  settle: () => Promise<Backend>;
  cleanup: () => Promise<void>;
  /** Anything left beside the files (a local folder's temporary files). */
  leftovers?: () => string[];
}

/**
 * Writes of `size` promised bytes whose streams deliver one byte fewer and one byte more; an
 * old file overwritten by such a stream keeps its content.
 */
async function refusesWrongSizes(subject: () => Promise<Subject>, size: number) {
  const s = await subject();
  try {
    const b = s.backend;
    await b.begin?.();
    await b.write("keep.txt", ReadableStream.from([new TextEncoder().encode("old")]), {
      size: 3,
      mtime: 1_000_000_000_000,
    });
    await b.commit?.();
    await b.begin?.();
    const meta = { size, mtime: 1_000_000_000_000 };
    await assert.rejects(
      b.write("short.bin", chunked(size - 1), meta),
      /shrank|sent \d+ of the \d+ bytes|cut short/,
    );
    await assert.rejects(
      b.write("long.bin", chunked(size + 1), meta),
      /grew|more than the \d+ bytes/,
    );
    // A source that goes on and on is refused once it passes the size, not read to its end.
    const more = flood();
    await assert.rejects(b.write("flood.bin", more.stream, meta), /grew|more than the \d+ bytes/);
    assert.ok(more.pulled() <= 2 * size + (1 << 20), `read ${more.pulled()} bytes`);
    await assert.rejects(b.write("keep.txt", chunked(size - 1), meta));
    await assert.rejects(b.write("keep.txt", chunked(size + 1), meta));
    const whole = await b.write("whole.bin", chunked(size), meta);
    assert.equal(whole.size, size);
    await b.commit?.();
    const after = await s.settle();
    assert.equal(await after.stat("short.bin"), undefined);
    assert.equal(await after.stat("long.bin"), undefined);
    assert.equal(await after.stat("flood.bin"), undefined);
    assert.equal(await text(after, "keep.txt"), "old");
    assert.equal((await after.stat("whole.bin"))?.size, size);
    assert.deepEqual(s.leftovers?.() ?? [], []);
  } finally {
    await s.cleanup();
  }
}

async function localSubject(): Promise<Subject> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-wsize-" });
  const backend = new LocalBackend(dir, { marker: false });
  await backend.open("write");
  return {
    backend,
    settle: () => Promise.resolve(backend),
    cleanup: () => Deno.remove(dir, { recursive: true }),
    leftovers: () =>
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => !/\.(bin|txt)$/.test(n)),
  };
}

async function zipSubject(): Promise<Subject> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-wsize-" });
  const path = join(dir, "a.zip");
  const backend = new ZipBackend(path);
  await backend.createRoot();
  await backend.open();
  let again: ZipBackend | undefined;
  return {
    backend,
    settle: async () => {
      await backend.close();
      again = new ZipBackend(path);
      await again.open();
      return again;
    },
    cleanup: async () => {
      await again?.close();
      await backend.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function memorySubject(): Promise<Subject> {
  const backend = new MemoryBackend({ name: "m" });
  return Promise.resolve({
    backend,
    settle: () => Promise.resolve(backend),
    cleanup: () => Promise.resolve(),
  });
}

Deno.test("local write() refuses a stream shorter or longer than promised, leaving nothing", async () => {
  await refusesWrongSizes(localSubject, 5);
  await refusesWrongSizes(localSubject, 300_000);
});

Deno.test("zip write() refuses a stream shorter or longer than promised, whole or streamed", async () => {
  await refusesWrongSizes(zipSubject, 5);
  // Above the size compressed in one call: the entry is streamed into the archive.
  await refusesWrongSizes(zipSubject, (8 << 20) + 10);
});

Deno.test("memory write() refuses a stream shorter or longer than promised", async () => {
  await refusesWrongSizes(memorySubject, 5);
});

Deno.test("s3 write() refuses a stream shorter or longer than promised, whole or in parts", async () => {
  const server = await startS3rver(["wsize"]);
  let n = 0;
  const subject = () => {
    const backend = new S3Backend({
      bucket: "wsize",
      prefix: `t${n++}`,
      display: "s3://wsize",
      endpoint: server.endpoint,
      pathStyle: true,
      multipartThreshold: 5 << 20,
    });
    return Promise.resolve({
      backend,
      settle: () => Promise.resolve(backend as Backend),
      cleanup: () => backend.close(),
    });
  };
  try {
    await refusesWrongSizes(subject, 5);
    await refusesWrongSizes(subject, (5 << 20) + 10);
  } finally {
    await server.stop();
  }
});
