/**
 * The concurrent-edit suite: a source edited in place while ferry copies it never yields a
 * torn file at a real name (local → local through the copy Workers and the main thread, and
 * local → S3 in one PUT and in parts). Each version the editor writes is one byte value
 * throughout, written front to back, so the file only ever holds "version v+1 up to some
 * point, version v after it" (an editor that pauses mid-file leaves that state for a while,
 * and a copy of it is a copy of what the file held). A torn copy, read across two moments,
 * shows anything else: the older version in front, more than two versions, or versions that do
 * not follow each other.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Backend } from "../../lib/backends/backend.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { S3Backend } from "../../lib/backends/s3.ts";
import { syncOnce } from "../../lib/sync.ts";
import { mirrorOnce } from "../../lib/mirror.ts";
import { StateStore } from "../../lib/state/store.ts";
import { startS3rver } from "../servers/s3rver.ts";
import { Recorder } from "../sync/engine_suite.ts";
import { RACY_MS } from "../../lib/backends/local/copy.ts";

const server = await startS3rver(["edits"]);

/** The editor's version counter, across rounds: version v always follows v - 1. */
let nextVersion = 1;

/** Rewrite files in place, whole version after whole version, until stopped. */
function editor(paths: string[], size: number): { stop(): Promise<number> } {
  let running = true;
  let versions = 0;
  const chunk = 1 << 20;
  const loop = (async () => {
    for (let v = nextVersion; running; v++, nextVersion = v) {
      for (const p of paths) {
        const f = await Deno.open(p, { write: true });
        try {
          const block = new Uint8Array(chunk).fill(v & 255);
          // A version is always written whole: stopping mid-file would leave a mixed source.
          for (let off = 0; off < size; off += chunk) {
            // Written whole: a short write left where it is would make a state no editor makes.
            const part = block.subarray(0, Math.min(chunk, size - off));
            for (let put = 0; put < part.length;) put += await f.write(part.subarray(put));
            await new Promise((r) => setTimeout(r, 0)); // let the copy run in between
          }
        } finally {
          f.close();
        }
      }
      versions++;
      // Every third version the editor pauses for longer than a file counts as being written,
      // so copies start (and are then overtaken by the next version) as well as being refused.
      if (v % 3 === 0) await new Promise((r) => setTimeout(r, RACY_MS * 2));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return versions;
    },
  };
}

/**
 * Whether the content is a state the file really held: one version throughout, or version
 * v + 1 up to some byte and version v from there on.
 */
function heldState(data: Uint8Array): boolean {
  const first = data[0]!;
  let at = data.indexOf(data[data.length - 1]!);
  if (data[at] === first) return data.every((b) => b === first);
  const last = data[at]!;
  if (first !== ((last + 1) & 255)) return false;
  for (let i = 0; i < at; i++) if (data[i] !== first) return false;
  for (; at < data.length; at++) if (data[at] !== last) return false;
  return true;
}

/** A file's content as runs of one byte value: `value×length@offset`, the first twelve. */
function runsOf(data: Uint8Array): string {
  const runs: string[] = [];
  let start = 0;
  for (let j = 1; j <= data.length && runs.length < 12; j++) {
    if (j === data.length || data[j] !== data[start]) {
      runs.push(`${data[start]}×${j - start}@${start}`);
      start = j;
    }
  }
  return runs.join(" ");
}

async function trial(
  dst: () => Backend,
  read: (key: string) => Promise<Uint8Array | undefined>,
  size: number,
  rounds: number,
  how: "sync" | "mirror" = "sync",
) {
  const state = StateStore.open(":memory:");
  const dir = await Deno.makeTempDir({ prefix: "ferry-edits-" });
  try {
    const paths = [0, 1, 2].map((i) => join(dir, `f${i}.bin`));
    // The files start as the version before the editor's next: each trial after the first
    // (the counter runs on across trials) would otherwise start from zeros, and a copy made
    // while the first version was half written over them would look torn.
    const start = (nextVersion - 1) & 255;
    for (const p of paths) await Deno.writeFile(p, new Uint8Array(size).fill(start));
    let torn = 0;
    let changed = 0;
    let copied = 0;
    for (let round = 0; round < rounds; round++) {
      const ed = editor(paths, size);
      const options = { sink: new Recorder(), retryDelay: 1 };
      const r = how === "sync"
        ? await syncOnce(new LocalBackend(dir), dst(), options)
        : await mirrorOnce([new LocalBackend(dir), dst()], { ...options, state });
      await ed.stop();
      changed += r.failures.filter((f) => /changed while it was/.test(f.error)).length;
      copied += r.summary.copied + r.summary.updated;
      for (let i = 0; i < 3; i++) {
        const got = await read(`f${i}.bin`);
        if (got === undefined) continue;
        assert.equal(got.length, size, `f${i}.bin has its full size`);
        if (!heldState(got)) {
          torn++;
          console.log(
            `torn: round ${round}, f${i}.bin holds ${runsOf(got)}; ${JSON.stringify(r.summary)}`,
          );
        }
      }
    }
    assert.equal(torn, 0, "a torn file landed at a real name");
    assert.ok(copied + changed > 0, `no copy in ${rounds} rounds: nothing was tested`);
    return changed;
  } finally {
    state.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A trial into a local folder: files rewritten while they are synced or mirrored there. */
async function localTrial(how: "sync" | "mirror", rounds: number): Promise<void> {
  const out = await Deno.makeTempDir({ prefix: "ferry-edits-out-" });
  try {
    const changed = await trial(
      () => new LocalBackend(out),
      async (k) => {
        try {
          return await Deno.readFile(join(out, k));
        } catch {
          return undefined;
        }
      },
      24 << 20,
      rounds,
      how,
    );
    console.log(`concurrent edits local (${how}): ${changed} copies refused as changed mid-copy`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

Deno.test("concurrent edits: local -> local, a file edited in place while it is copied never lands torn", () =>
  localTrial("sync", 10));

Deno.test("concurrent edits: mirror of two folders, a file edited in place while it is copied never lands torn", () =>
  localTrial("mirror", 6));

for (const [what, size] of [["one PUT", 3 << 20], ["in parts", 11 << 20]] as const) {
  Deno.test(`concurrent edits: local -> S3 (${what}), a file edited while it is uploaded never lands torn`, async () => {
    const prefix = `p${size}`;
    const s3 = () =>
      new S3Backend({
        bucket: "edits",
        prefix,
        display: "s3",
        endpoint: server.endpoint,
        pathStyle: true,
      });
    const reader = s3();
    const changed = await trial(
      s3,
      async (k) => {
        if (!(await reader.stat(k))) return undefined;
        return new Uint8Array(await new Response(await reader.read(k)).arrayBuffer());
      },
      size,
      4,
    );
    console.log(`concurrent edits local->s3 (${what}): ${changed} uploads refused as changed`);
    await reader.close();
  });
}

Deno.test({
  name: "concurrent edits: stop the S3 test server",
  fn: () => server.stop(),
  sanitizeOps: false,
  sanitizeResources: false,
});
