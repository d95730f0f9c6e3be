import assert from "node:assert/strict";
import type { Backend } from "../../lib/backends/backend.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { ExitCode, LocationError } from "../../lib/errors.ts";
import { mirrorOnce } from "../../lib/mirror.ts";
import { IGNORE_FILE } from "../../lib/paths.ts";
import { StateStore } from "../../lib/state/store.ts";
import { syncOnce } from "../../lib/sync.ts";
import { wrapBackend } from "../_wrap.ts";
import { Recorder } from "../sync/engine_suite.ts";

/** A location holding a secret its `.ferryignore` keeps out, and that file cannot be read. */
async function unreadableIgnore(): Promise<Backend> {
  const inner = new MemoryBackend({ name: "src" });
  for (const [key, text] of [[IGNORE_FILE, "secret.txt\n"], ["secret.txt", "s"], ["a.txt", "a"]]) {
    const data = new TextEncoder().encode(text);
    await inner.write(key!, ReadableStream.from([data]), { size: data.length, mtime: 1e12 });
  }
  return wrapBackend(inner, {
    read: (key) =>
      key === IGNORE_FILE
        ? Promise.reject(new Deno.errors.PermissionDenied("Permission denied (os error 13)"))
        : inner.read(key),
  });
}

const refused = (err: unknown) =>
  err instanceof LocationError && err.exitCode === ExitCode.usage &&
  err.message.includes(`"${IGNORE_FILE}"`) &&
  err.message.includes("permission denied");

Deno.test("syncOnce() fails, copying nothing, when a .ferryignore cannot be read", async () => {
  const src = await unreadableIgnore();
  const dst = new MemoryBackend({ name: "dst" });
  await assert.rejects(syncOnce(src, dst, { sink: new Recorder() }), refused);
  assert.deepEqual((await dst.list()).entries, []);
});

Deno.test("mirrorOnce() fails, copying nothing, when a member's .ferryignore cannot be read", async () => {
  // Taken for no patterns, it would spread what the file keeps out (secret.txt) to every member.
  const a = await unreadableIgnore();
  const b = new MemoryBackend({ name: "b" });
  const state = StateStore.open(":memory:");
  try {
    await assert.rejects(mirrorOnce([a, b], { sink: new Recorder(), state }), refused);
    assert.deepEqual((await b.list()).entries, []);
  } finally {
    state.close();
  }
});
