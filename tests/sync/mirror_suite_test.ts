/**
 * The mirror's engine suite: one story run over mixed members — a folder, S3 (s3rver) and a
 * memory location; a folder, a ZIP archive and an FTP server (ftp-srv) — through the library:
 * the first union, an edit that spreads, simultaneous edits (the newest wins, the other kept
 * everywhere), a deletion, a file rename and a folder rename spread as moves where the member
 * can move, and a last pass with nothing to do.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Backend } from "../../lib/backends/backend.ts";
import { FtpBackend } from "../../lib/backends/ftp/ftp.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { S3Backend } from "../../lib/backends/s3.ts";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { silentSink } from "../../lib/execute/events.ts";
import { mirrorOnce } from "../../lib/mirror.ts";
import { isConflictCopy } from "../../lib/plan/mirror.ts";
import { StateStore } from "../../lib/state/store.ts";
import { startS3rver } from "../servers/s3rver.ts";
import { startFtpSrv } from "../servers/ftp.ts";

const s3 = await startS3rver(["mirrorsuite"]);
const ftp = await startFtpSrv();
const enc = new TextEncoder();

async function put(b: Backend, key: string, text: string, mtime: number): Promise<void> {
  if (!(await b.rootExists())) await b.createRoot();
  await b.open("write");
  const data = enc.encode(text);
  await b.write(key, ReadableStream.from([data]), { size: data.length, mtime });
}

async function contents(b: Backend): Promise<Map<string, string>> {
  await b.open("read");
  const out = new Map<string, string>();
  for (const e of (await b.list()).entries) {
    if (e.kind === "file") out.set(e.key, await new Response(await b.read(e.key)).text());
  }
  return out;
}

async function story(name: string, members: Backend[]): Promise<void> {
  const state = StateStore.open(":memory:");
  const pass = () => mirrorOnce(members, { sink: silentSink, state, retryDelay: 10 });
  const same = async (what: string) => {
    const all = await Promise.all(members.map(contents));
    for (const c of all.slice(1)) assert.deepEqual(c, all[0], `${name}: ${what}`);
    return all[0]!;
  };
  const t = Date.UTC(2026, 5, 1);
  try {
    await put(members[0]!, "a.txt", "a", t);
    await put(members[1]!, "docs/b.txt", "b", t);
    await put(members[2]!, "docs/deep/c.txt", "c", t);
    let r = await pass();
    assert.equal(r.summary.failed, 0, `${name}: ${JSON.stringify(r.failures)}`);
    assert.equal(r.summary.deleted, 0);
    assert.equal((await same("the union")).size, 3);

    await put(members[2]!, "a.txt", "a from 2", t + 10_000);
    r = await pass();
    assert.equal(r.summary.updated, 2, `${name}: an edit spreads`);
    assert.equal((await same("the edit")).get("a.txt"), "a from 2");

    // Odd seconds and milliseconds: no location's precision (ZIP's 2 s, FTP's second) keeps them.
    await put(members[0]!, "a.txt", "a from 0", t + 21_357);
    await put(members[1]!, "a.txt", "a from 1", t + 30_481);
    r = await pass();
    assert.equal(r.summary.conflicts, 1, `${name}: simultaneous edits`);
    assert.equal(r.summary.failed, 0, `${name}: ${JSON.stringify(r.failures)}`);
    const afterConflict = await same("the conflict");
    assert.equal(afterConflict.get("a.txt"), "a from 1");
    const kept = [...afterConflict].filter(([k]) => isConflictCopy(k));
    assert.deepEqual(kept.map(([, v]) => v), ["a from 0"], `${name}: the loser kept`);
    r = await pass();
    const quiet = r.summary;
    assert.equal(
      quiet.copied + quiet.updated + quiet.moved + quiet.deleted + quiet.conflicts,
      0,
      `${name}: the pass after the conflict has nothing to do (its copy is not sent again)`,
    );

    await members[2]!.remove("docs/b.txt");
    r = await pass();
    assert.equal(r.summary.deleted, 2, `${name}: a deletion spreads`);

    const movers = members.filter((m) => m.move).length - 1;
    await members[0]!.move!("a.txt", "renamed.txt");
    r = await pass();
    assert.equal(r.summary.copied, members.length - 1 - movers, `${name}: a rename copies nothing`);
    assert.equal(r.summary.moved, movers);
    await members[0]!.move!("docs", "papers");
    r = await pass();
    assert.equal(r.summary.copied, members.length - 1 - movers, `${name}: a folder rename`);
    const end = await same("the renames");
    assert.deepEqual([...end.keys()].filter((k) => !isConflictCopy(k)).sort(), [
      "papers/deep/c.txt",
      "renamed.txt",
    ]);
    r = await pass();
    const s = r.summary;
    assert.equal(s.copied + s.updated + s.moved + s.deleted + s.conflicts, 0, `${name}: settled`);
  } finally {
    state.close();
    for (const m of members) await m.close();
  }
}

Deno.test("mirror suite: a folder, an S3 prefix and a memory location", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-mirror-suite-" });
  try {
    await story("local+s3+memory", [
      new LocalBackend(join(dir, "a")),
      new S3Backend({
        bucket: "mirrorsuite",
        prefix: "one",
        display: "s3://mirrorsuite/one",
        endpoint: s3.endpoint,
        pathStyle: true,
      }),
      new MemoryBackend({ name: "mem" }),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mirror suite: a folder, a ZIP archive and an FTP server", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-mirror-suite-" });
  try {
    await story("local+zip+ftp", [
      new LocalBackend(join(dir, "a")),
      new ZipBackend(join(dir, "b.zip")),
      new FtpBackend({
        host: ftp.host,
        port: ftp.port,
        user: ftp.user,
        password: ftp.password,
        path: "/suite",
        secure: false,
        display: `ftp://${ftp.host}:${ftp.port}/suite`,
        retryDelay: 10,
      }),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "mirror suite: stop the servers",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await s3.stop();
    await ftp.stop();
  },
});
