/**
 * Fast paths are capabilities: the engine takes one only where `caps.fast` declares it, and a
 * backend whose fast paths are turned off goes the general way.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Backend,
  disableFastPaths,
  FAST_PATHS,
  fastPath,
} from "../../lib/backends/backend.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { silentSink } from "../../lib/execute/events.ts";
import { StateStore } from "../../lib/state/store.ts";
import { syncOnce } from "../../lib/sync.ts";

/** Enough files for the copy Workers (fewer are copied one by one). */
const FILES = 80;

/** Record every fast-path call on `b` into `calls` (the methods still work). */
function spy(b: Backend, calls: string[]): void {
  for (const name of FAST_PATHS) {
    const method = b[name] as ((...args: unknown[]) => unknown) | undefined;
    if (typeof method !== "function") continue;
    Object.defineProperty(b, name, {
      configurable: true,
      value: (...args: unknown[]) => {
        calls.push(name);
        return method.apply(b, args);
      },
    });
  }
}

/** A first sync of {@linkcode FILES} files between two local folders; the fast paths called. */
async function firstSync(fast: boolean): Promise<{ calls: string[]; copied: number }> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-fast-" });
  const state = StateStore.open(":memory:");
  try {
    const [a, b] = [join(dir, "a"), join(dir, "b")];
    await Deno.mkdir(join(a, "sub"), { recursive: true });
    await Deno.mkdir(b);
    for (let i = 0; i < FILES; i++) await Deno.writeTextFile(join(a, "sub", `f${i}.txt`), `${i}`);
    const src = new LocalBackend(a);
    const dst = new LocalBackend(b);
    if (!fast) {
      disableFastPaths(src);
      disableFastPaths(dst);
    }
    const calls: string[] = [];
    spy(src, calls);
    spy(dst, calls);
    const r = await syncOnce(src, dst, { sink: silentSink, state });
    assert.equal(r.summary.failed, 0, JSON.stringify(r.failures));
    for (let i = 0; i < FILES; i++) {
      assert.equal(await Deno.readTextFile(join(b, "sub", `f${i}.txt`)), `${i}`);
    }
    return { calls: [...new Set(calls)].sort(), copied: r.summary.copied };
  } finally {
    state.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("fast paths: a first local -> local copy takes them where they are on", async () => {
  const { calls, copied } = await firstSync(true);
  assert.equal(copied, FILES);
  // The spy sees them (else the next test would prove nothing).
  for (const name of ["copyMany", "isEmpty", "listWith", "prepareCopyFrom"]) {
    assert.ok(calls.includes(name), `${name} in ${calls.join(", ")}`);
  }
});

Deno.test("disableFastPaths(): the same copy takes none of them: the general path copies it all", async () => {
  const { calls, copied } = await firstSync(false);
  assert.equal(copied, FILES);
  assert.deepEqual(calls, []);
});

Deno.test("disableFastPaths() turns off only the paths named, and leaves caps.local", () => {
  const b = disableFastPaths(new LocalBackend("."), ["copyMany"]);
  assert.equal(fastPath(b, "copyMany"), undefined);
  assert.equal(typeof fastPath(b, "copyInFromPath"), "function");
  assert.equal(b.caps.local, true);
});

Deno.test("fastPath() is undefined where the backend declares none, and throws where a flag has no method", () => {
  const plain = new MemoryBackend({ name: "m" });
  for (const name of FAST_PATHS) assert.equal(fastPath(plain, name), undefined);
  const lying = new MemoryBackend({ name: "m", caps: { fast: { copyMany: true } } });
  assert.throws(() => fastPath(lying, "copyMany"), TypeError);
});
