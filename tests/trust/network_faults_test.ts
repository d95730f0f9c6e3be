/**
 * The fault suite: a proxy between ferry and the S3 test server resets connections, answers
 * 503 SlowDown and 500, stalls past the idle timeout and cuts answers short, on a seeded
 * schedule. At 5% of requests faulted, uploads and downloads finish with no failed file; at
 * 20%, every failed file is listed and a clean rerun converges.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Agent } from "node:http";
import { join } from "node:path";
import { LocalBackend } from "../../lib/backends/local.ts";
import { S3Backend, type S3Options } from "../../lib/backends/s3.ts";
import { syncOnce } from "../../lib/sync.ts";
import { StateStore } from "../../lib/state/store.ts";
import { listFiles } from "../cli/_run.ts";
import { startFaultProxy } from "../servers/fault_proxy.ts";
import { startS3rver } from "../servers/s3rver.ts";
import { Recorder } from "../sync/engine_suite.ts";

const server = await startS3rver(["faults"]);
const seed = Number(Deno.env.get("FERRY_FAULT_SEED") ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fault suite: seed ${seed}`);
const proxy = startFaultProxy(Number(new URL(server.endpoint).port), seed, 0, 1500);

/** A backend that talks through the proxy, one connection per request, 1 s idle timeout. */
function viaProxy(prefix: string): S3Backend {
  return new S3Backend({
    bucket: "faults",
    prefix,
    display: `s3://faults/${prefix}`,
    endpoint: proxy.endpoint,
    pathStyle: true,
    requestHandler: {
      httpAgent: new Agent({ keepAlive: false }),
      connectionTimeout: 1000,
      socketTimeout: 1000,
    } as unknown as S3Options["requestHandler"],
  });
}

async function corpus(root: string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const dir = join(root, `d${i % 8}`);
    await Deno.mkdir(dir, { recursive: true });
    const size = 1000 + ((i * 7919) % 20_000);
    await Deno.writeFile(join(dir, `f${i}.bin`), new Uint8Array(size).fill(i & 255));
  }
  const big = new Uint8Array(9 << 20).map((_, i) => (i >> 12) & 255);
  await Deno.writeFile(join(root, "big1.bin"), big);
  await Deno.writeFile(join(root, "big2.bin"), big.map((b) => b ^ 0x55));
}

async function hashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of listFiles(root)) {
    out.set(f, createHash("sha256").update(await Deno.readFile(join(root, f))).digest("hex"));
  }
  return out;
}

function report(what: string, before: typeof proxy.stats): void {
  const conns = proxy.stats.connections - before.connections;
  const faults = Object.entries(proxy.stats.faults)
    .map(([k, v]) => [k, v - before.faults[k as keyof typeof before.faults]] as const);
  const total = faults.reduce((n, [, v]) => n + v, 0);
  console.log(
    `fault suite ${what}: ${conns} requests, ${total} faulted (${
      (total / Math.max(1, conns) * 1000).toFixed(0)
    } per 1,000): ${faults.map(([k, v]) => `${k} ${v}`).join(", ")}`,
  );
}

const snapshot = () => ({
  connections: proxy.stats.connections,
  faults: { ...proxy.stats.faults },
});

Deno.test("fault suite: at 5% faulted requests, an upload and a download finish with no failed file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-faults-" });
  try {
    const src = join(dir, "src");
    const back = join(dir, "back");
    await corpus(src);
    proxy.setRate(0.05);
    let before = snapshot();
    const up = viaProxy("five");
    const r1 = await syncOnce(new LocalBackend(src), up, { sink: new Recorder(), retryDelay: 50 });
    report("5% upload", before);
    assert.equal(r1.summary.failed, 0, JSON.stringify(r1.failures));
    assert.equal(r1.summary.copied, 122);
    before = snapshot();
    const r2 = await syncOnce(up, new LocalBackend(back), { sink: new Recorder(), retryDelay: 50 });
    report("5% download", before);
    assert.equal(r2.summary.failed, 0, JSON.stringify(r2.failures));
    assert.deepEqual(await hashes(back), await hashes(src));
    await up.close();
  } finally {
    proxy.setRate(0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fault suite: at 20% faulted requests, every failed file is listed and a clean rerun converges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-faults-" });
  try {
    const src = join(dir, "src");
    const back = join(dir, "back");
    await corpus(src);
    const state = StateStore.open(":memory:");
    proxy.setRate(0.2);
    for (
      const [what, from, to] of [
        ["upload", () => new LocalBackend(src), () => viaProxy("twenty")],
        ["download", () => viaProxy("twenty"), () => new LocalBackend(back)],
      ] as const
    ) {
      proxy.setRate(0.2);
      const before = snapshot();
      const rec = new Recorder();
      let r;
      try {
        r = await syncOnce(from(), to(), { sink: rec, state, retryDelay: 50 });
      } catch (err) {
        // A listing that failed after every retry: the run says so in one line (exit 1).
        report(`20% ${what} (listing failed)`, before);
        assert.match(String(err), /Cannot list/);
        r = undefined;
      }
      if (r) {
        report(`20% ${what}`, before);
        const failedPaths = r.failures.map((f) => f.path);
        console.log(
          `fault suite 20% ${what}: ${r.summary.failed} failed, ${r.summary.copied} copied`,
        );
        assert.equal(failedPaths.length > 0, r.summary.failed > 0, "failures are listed");
        // Each failed file is named in a fail event and in the failures.
        for (const e of rec.of("fail")) {
          assert.ok(e.event === "fail" && failedPaths.includes(e.path), JSON.stringify(e));
        }
      }
      proxy.setRate(0);
      const clean = await syncOnce(from(), to(), { sink: new Recorder(), state });
      assert.equal(clean.summary.failed, 0, JSON.stringify(clean.failures));
    }
    assert.deepEqual(await hashes(back), await hashes(src));
    state.close();
  } finally {
    proxy.setRate(0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "fault suite: stop the proxy and the S3 test server",
  fn: async () => {
    await proxy.stop();
    await server.stop();
  },
  sanitizeOps: false,
  sanitizeResources: false,
});
