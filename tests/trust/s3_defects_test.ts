/**
 * The trust defects that need an S3 store (s3rver on 127.0.0.1): an update whose source
 * changes size mid-upload (D3), no HEAD per object on a first no-op (D19), nanosecond times in
 * the metadata (D19). s3rver cannot abort or list multipart uploads: D10 is tested against
 * recorded answers in tests/backends/s3_recorded_test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { LocalBackend } from "../../lib/backends/local.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { S3Backend } from "../../lib/backends/s3.ts";
import { StateStore } from "../../lib/state/store.ts";
import { syncOnce } from "../../lib/sync.ts";
import { startS3rver } from "../servers/s3rver.ts";
import { Recorder } from "../sync/engine_suite.ts";
import { wrapBackend } from "../_wrap.ts";
import { skipUnless } from "../_skips.ts";

const server = await startS3rver(["trust"]);
let n = 0;
const bucket = (o: Partial<ConstructorParameters<typeof S3Backend>[0]> = {}) =>
  new S3Backend({
    bucket: "trust",
    prefix: `p${n++}`,
    display: "s3://trust",
    endpoint: server.endpoint,
    pathStyle: true,
    ...o,
  });

/** Count the requests of each command a backend sends. */
function countCommands(b: S3Backend): Map<string, number> {
  const seen = new Map<string, number>();
  b.client.middlewareStack.add((next, context) => (args) => {
    const name = String(context.commandName);
    seen.set(name, (seen.get(name) ?? 0) + 1);
    return next(args);
  }, { step: "initialize" });
  return seen;
}

const text = async (b: S3Backend, key: string) => new Response(await b.read(key)).text();

Deno.test("D3: a source that shrinks or grows while it is uploaded in parts leaves the old object as it was", async () => {
  const s3 = bucket({ multipartThreshold: 5 << 20 });
  const old = "the previous good version";
  await s3.write("big.bin", ReadableStream.from([new TextEncoder().encode(old)]), {
    size: old.length,
    mtime: 1e12,
  });
  for (const delivered of [7 << 20, 13 << 20]) {
    const src = new MemoryBackend({ name: "src" });
    await src.write("big.bin", ReadableStream.from([new Uint8Array(10 << 20)]), {
      size: 10 << 20,
      mtime: 2e12,
    });
    // The file changes size between the listing and the upload.
    const changing = wrapBackend(src, {
      read: () => Promise.resolve(ReadableStream.from([new Uint8Array(delivered)])),
    });
    const r = await syncOnce(changing, s3, { sink: new Recorder(), retryDelay: 1 });
    assert.equal(r.summary.failed, 1, `${delivered}`);
    assert.match(r.failures[0]!.error, delivered < 10 << 20 ? /shrank/ : /grew/);
    assert.equal(await text(s3, "big.bin"), old, "the old object stays");
  }
  await s3.close();
});

Deno.test("D19: the first no-op after an upload sends no HEAD per object, even with no state", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-d19-" });
  try {
    for (let i = 0; i < 60; i++) {
      await Deno.mkdir(join(dir, `d${i % 6}`), { recursive: true });
      await Deno.writeTextFile(join(dir, `d${i % 6}`, `f${i}.txt`), `content ${i}`);
    }
    const prefix = `noop${n++}`;
    const make = () => bucket({ prefix });
    const up = make();
    const r1 = await syncOnce(new LocalBackend(dir), up, { sink: new Recorder() });
    assert.equal(r1.summary.copied, 60);
    await up.close();
    // No state at all (lost, or another machine): the listing proves what is in step.
    const s3 = make();
    const seen = countCommands(s3);
    const state = StateStore.open(":memory:");
    const r2 = await syncOnce(new LocalBackend(dir), s3, { sink: new Recorder(), state });
    assert.equal(r2.summary.copied + r2.summary.updated, 0);
    // One HEAD at most: for .ferryignore at the root, never one per object.
    assert.ok((seen.get("HeadObjectCommand") ?? 0) <= 1, JSON.stringify([...seen]));
    // The state it wrote makes the next run a no-op too, still without HEADs.
    const r3 = await syncOnce(new LocalBackend(dir), s3, { sink: new Recorder(), state });
    assert.equal(r3.summary.copied + r3.summary.updated, 0);
    assert.ok((seen.get("HeadObjectCommand") ?? 0) <= 2);
    // A file changed since is still found.
    await Deno.writeTextFile(join(dir, "d0", "f0.txt"), "changed!!");
    const r4 = await syncOnce(new LocalBackend(dir), s3, { sink: new Recorder(), state });
    assert.equal(r4.summary.updated, 1);
    state.close();
    await s3.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "D19: where the walk knows nanoseconds, x-amz-meta-mtime carries them (rclone compares to the ns)",
  ignore: skipUnless(Deno.build.os === "linux", import.meta.url, "Linux only"),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ferry-ns-" });
    try {
      const f = join(dir, "a.txt");
      await Deno.writeTextFile(f, "a");
      await new Deno.Command("touch", { args: ["-d", "@1700000000.123456789", f] }).output();
      const s3 = bucket();
      await syncOnce(new LocalBackend(dir), s3, { sink: new Recorder() });
      const h = await s3.client.send(
        new HeadObjectCommand({ Bucket: "trust", Key: `${s3.prefix}/a.txt` }),
      );
      assert.equal(h.Metadata?.mtime, "1700000000.123456789");
      await s3.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

globalThis.addEventListener("unload", () => {
  server.stop();
});

Deno.test("D7: Ctrl-C during a large upload stops it within about a second; the object is not made", async () => {
  const s3 = bucket();
  const src = new MemoryBackend({ name: "src" });
  const size = 48 << 20;
  await src.write("big.bin", ReadableStream.from([new Uint8Array(size)]), { size, mtime: 1e12 });
  // A slow source: 1 MiB every 40 ms (about 2 s for the whole file).
  const slow = wrapBackend(src, {
    read: () => {
      let sent = 0;
      return Promise.resolve(
        new ReadableStream<Uint8Array>({
          async pull(c) {
            if (sent >= size) return c.close();
            await new Promise((r) => setTimeout(r, 40));
            c.enqueue(new Uint8Array(1 << 20));
            sent += 1 << 20;
          },
        }),
      );
    },
  });
  const stop = new AbortController();
  const rec = new Recorder();
  const running = syncOnce(slow, s3, { sink: rec, signal: stop.signal });
  // Interrupt once the upload is under way (its progress shows bytes moving).
  const deadline = Date.now() + 20_000;
  while (!rec.events.some((e) => e.event === "progress" && e.bytes > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const t0 = performance.now();
  stop.abort();
  const r = await running;
  const took = performance.now() - t0;
  assert.ok(took < 1500, `stopped after ${took.toFixed(0)} ms`);
  assert.equal(r.interrupted, true);
  assert.equal(r.summary.failed, 0, JSON.stringify(r.failures));
  assert.equal(await s3.stat("big.bin"), undefined, "no object at the real name");
  await s3.close();
});
