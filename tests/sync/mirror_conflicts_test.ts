/**
 * Conflict copies on real locations: only versions that two members really changed are kept
 * as conflict copies, and a pass after one that made them has nothing to do.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Backend } from "../../lib/backends/backend.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { silentSink } from "../../lib/execute/events.ts";
import { mirrorOnce } from "../../lib/mirror.ts";
import { isConflictCopy } from "../../lib/plan/mirror.ts";
import { StateStore } from "../../lib/state/store.ts";

/** A backend with one method replaced (everything else, its identity too, is the backend's). */
function withMethod<K extends keyof Backend>(b: Backend, name: K, f: Backend[K]): Backend {
  return new Proxy(b, {
    get(target, prop, receiver) {
      if (prop === name) return f;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

function tree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of Deno.readDirSync(root)) {
    if (e.isFile) out.set(e.name, Deno.readTextFileSync(join(root, e.name)));
  }
  return out;
}

Deno.test("mirror: a file edited again while a pass copies it lands as two versions in two members; the next pass spreads the last edit and keeps no conflict copy (one writer)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-mconflict-" });
  const state = StateStore.open(":memory:");
  try {
    const roots = ["a", "b", "c"].map((n) => join(dir, n));
    for (const r of roots) await Deno.mkdir(r);
    const file = join(roots[0]!, "notes.txt");
    Deno.writeTextFileSync(file, "v1");
    Deno.utimeSync(file, new Date(Date.UTC(2026, 0, 1)), new Date(Date.UTC(2026, 0, 1)));
    const plain = roots.map((r) => new LocalBackend(r));
    const pass = (ms: Backend[]) => mirrorOnce(ms, { sink: silentSink, state });
    let r = await pass(plain);
    assert.equal(r.summary.copied, 2);
    // Only a's file is ever edited: now (a pass soon after an edit, as with --watch), and again
    // while the pass copies it, after the first copy and before the second.
    Deno.writeTextFileSync(file, "v2: edited");
    let edited = false;
    const editAfterFirstCopy = (b: LocalBackend): Backend =>
      withMethod(b, "copyInFromPath", (src, key, meta) => {
        // The copy is made before this returns: the edit follows it at once.
        const copied = b.copyInFromPath(src, key, meta);
        if (!edited) {
          edited = true;
          Deno.writeTextFileSync(file, "v3: edited again, longer");
        }
        return copied;
      });
    r = await pass([plain[0]!, editAfterFirstCopy(plain[1]!), editAfterFirstCopy(plain[2]!)]);
    assert.ok(edited, "the file was edited between the two copies");
    assert.equal(r.summary.failed, 0, JSON.stringify(r.failures));
    const got = roots.slice(1).map((root) => tree(root).get("notes.txt")).sort();
    assert.deepEqual(got, ["v2: edited", "v3: edited again, longer"], "two versions landed");
    // The next pass: a's last edit reaches the member that got the earlier one; nothing was
    // changed anywhere else, so nothing is a conflict.
    const events: { event: string; message?: string }[] = [];
    r = await mirrorOnce(plain, { sink: { emit: (e) => events.push(e) }, state });
    const said = events.filter((e) => e.event === "conflict").map((e) => e.message);
    assert.equal(r.summary.conflicts, 0, JSON.stringify(said));
    for (const root of roots) {
      const files = tree(root);
      assert.deepEqual([...files.keys()].filter(isConflictCopy), [], `no conflict copy in ${root}`);
      assert.equal(files.get("notes.txt"), "v3: edited again, longer");
    }
    r = await pass(plain);
    const s = r.summary;
    assert.equal(s.copied + s.updated + s.moved + s.deleted + s.conflicts, 0, "then nothing to do");
  } finally {
    state.close();
    await Deno.remove(dir, { recursive: true });
  }
});
