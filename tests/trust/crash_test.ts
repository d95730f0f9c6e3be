/**
 * The crash suite: `ferry sync` as a child process, killed with SIGKILL at seeded random
 * instants, local → local, local → ZIP, local → S3, S3 → local, local → FTP and FTP → local, with the source changed between a kill
 * and the next run. After every kill no file at a real name holds anything but a version its
 * source had at that path; the last run exits 0 with both sides equal by hash and no
 * temporary file left.
 *
 * `FERRY_CRASH_KILLS` sets the kills per direction (20 by default, as in CI; more for a slow
 * run), `FERRY_CRASH_SEED` replays a seed (each test prints its own).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { S3Backend } from "../../lib/backends/s3.ts";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { besideArchive } from "../../lib/backends/zip/names.ts";
import { FtpBackend } from "../../lib/backends/ftp/ftp.ts";
import { daemonAvailable, type FtpServer, startFtpSrv, startPureFtpd } from "../servers/ftp.ts";
import { ferryArgs, listFiles } from "../cli/_run.ts";
import { startS3rver } from "../servers/s3rver.ts";
import { seededRandom as random } from "../_random.ts";
import { have, skipUnless } from "../_skips.ts";

const KILLS = Number(Deno.env.get("FERRY_CRASH_KILLS") ?? "20");

const hash = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** One side of a trial: where ferry reads or writes, and how the test looks at it. */
interface Side {
  arg: string;
  write(rel: string, data: Uint8Array): Promise<void>;
  remove(rel: string): Promise<void>;
  /** Every file (no temporary ones) with the hash of its content. */
  snapshot(): Promise<Map<string, string>>;
  /** Temporary names ferry left (local only; an object store has none). */
  temps(): string[];
  /** What is at a path, for a failure message. */
  describe(rel: string): Promise<string>;
  /**
   * Remove what the test server itself left torn (an object store whose PUTs are not atomic);
   * returns the paths removed.
   */
  tidy?(): Promise<string[]>;
}

function localSide(root: string): Side {
  const p = (rel: string) => join(root, ...rel.split("/"));
  return {
    arg: root,
    async write(rel, data) {
      await Deno.mkdir(join(p(rel), ".."), { recursive: true });
      await Deno.writeFile(p(rel), data);
    },
    remove: (rel) => Deno.remove(p(rel)),
    async snapshot() {
      const out = new Map<string, string>();
      let files: string[] = [];
      try {
        files = listFiles(root);
      } catch { /* not made yet */ }
      for (const f of files) {
        if (f.split("/").pop()!.startsWith(".ferry-tmp-")) continue;
        out.set(f, hash(await Deno.readFile(p(f))));
      }
      return out;
    },
    describe: async (rel) => `${(await Deno.stat(p(rel))).size} bytes`,
    temps() {
      try {
        return listFiles(root).filter((f) => f.split("/").pop()!.startsWith(".ferry-tmp-"));
      } catch {
        return [];
      }
    },
  };
}

/**
 * Objects s3rver left torn. It writes a PUT's body straight into the object's file and takes
 * a body cut short by a killed client for a whole one, so a kill mid-PUT leaves a truncated
 * object: its content no longer matches its ETag, or it was stored without the metadata
 * every ferry PUT carries (x-amz-meta-mtime). Real S3 refuses a body shorter than its
 * Content-Length and never shows an object before its PUT completes. Counted, not taken for
 * ferry's.
 */
let serverTorn = 0;

function s3Side(endpoint: string, prefix: string): Side & { close(): Promise<void> } {
  const b = new S3Backend({ bucket: "crash", prefix, display: "s3", endpoint, pathStyle: true });
  /** Every object's content, undefined for one s3rver left torn. */
  const objects = async () => {
    const out = new Map<string, Uint8Array | undefined>();
    for (const e of (await b.list()).entries) {
      if (e.kind !== "file") continue;
      const r = await b.client.send(
        new GetObjectCommand({ Bucket: "crash", Key: b.objectKey(e.key) }),
      );
      const data = await r.Body!.transformToByteArray();
      const etag = (r.ETag ?? "").replaceAll('"', "");
      const badEtag = !etag.includes("-") &&
        createHash("md5").update(data).digest("hex") !== etag;
      out.set(e.key, badEtag || !r.Metadata?.mtime ? undefined : data);
    }
    return out;
  };
  return {
    arg: `s3://crash/${prefix}`,
    write: async (rel, data) => {
      await b.write(rel, ReadableStream.from([data]), { size: data.length, mtime: Date.now() });
    },
    remove: (rel) => b.remove(rel),
    async snapshot() {
      const out = new Map<string, string>();
      for (const [key, data] of await objects()) {
        if (data === undefined) serverTorn++;
        else out.set(key, hash(data));
      }
      return out;
    },
    async tidy() {
      const torn = [...await objects()].filter(([, data]) => data === undefined).map(([k]) => k);
      for (const k of torn) await b.remove(k);
      return torn;
    },
    temps: () => [],
    async describe(rel) {
      const r = await b.client.send(
        new GetObjectCommand({ Bucket: "crash", Key: b.objectKey(rel) }),
      );
      const data = await r.Body!.transformToByteArray();
      return `${data.length} bytes, ETag ${r.ETag}, md5 ${
        createHash("md5").update(data).digest("hex")
      }, meta ${JSON.stringify(r.Metadata)}`;
    },
    close: () => b.close(),
  };
}

/**
 * A ZIP archive. Looking at it opens it as ferry does, which cuts an interrupted update back
 * to the last good archive (from its journal); then Info-ZIP's `unzip -t` must accept it.
 */
function zipSide(path: string): Side {
  /** Open the archive as ferry does, run `fn` on it (undefined: no archive), close it. */
  const opened = async <T>(fn: (z: ZipBackend | undefined) => Promise<T>): Promise<T> => {
    const z = new ZipBackend(path);
    try {
      return await fn((await z.open()).exists ? z : undefined);
    } finally {
      await z.close();
    }
  };
  return {
    arg: `zip:${path}`,
    async write(rel, data) {
      const z = new ZipBackend(path);
      try {
        if (!(await z.open()).exists) {
          await z.createRoot();
          await z.open();
        }
        await z.write(rel, ReadableStream.from([data]), { size: data.length, mtime: Date.now() });
      } finally {
        await z.close();
      }
    },
    remove: (rel) => opened(async (z) => await z!.remove(rel)),
    snapshot: () =>
      opened(async (z) => {
        const out = new Map<string, string>();
        if (!z) return out;
        const listing = await z.list();
        // (unzip calls an archive with no entries a warning, exit 1: there is nothing to test.)
        const t = listing.entries.length === 0
          ? { success: true, stdout: new Uint8Array() }
          : await new Deno.Command("unzip", { args: ["-tq", path] }).output();
        if (!t.success) {
          throw new Error(`unzip -t refuses the archive: ${new TextDecoder().decode(t.stdout)}`);
        }
        for (const e of listing.entries) {
          if (e.kind !== "file") continue;
          out.set(
            e.key,
            hash(new Uint8Array(await new Response(await z.read(e.key)).arrayBuffer())),
          );
        }
        return out;
      }),
    temps() {
      const journal = besideArchive(path, "journal");
      try {
        Deno.statSync(journal);
        return [journal];
      } catch {
        return [];
      }
    },
    describe: (rel) => opened(async (z) => `${(await z?.stat(rel))?.size} bytes`),
  };
}

/**
 * A folder on an FTP server that runs on this machine: ferry reaches it over FTP, the test
 * looks at the server's own folder on disk (temporary names included).
 */
function ftpSide(server: FtpServer, path: string): Side {
  const disk = localSide(join(server.root, ...path.split("/").filter((p) => p)));
  const b = new FtpBackend({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    path,
    secure: false,
    display: "ftp",
  });
  return {
    ...disk,
    arg: `${server.url}${path}`,
    async write(rel, data) {
      if (!(await b.rootExists())) await b.createRoot();
      await b.write(rel, ReadableStream.from([data]), { size: data.length, mtime: Date.now() });
    },
    remove: (rel) => b.remove(rel),
  };
}

/** The corpus: nested folders, Unicode names, small files and a few of several MB. */
function corpus(rnd: () => number): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const names = ["a.txt", "é à ü.txt", "日本語.md", "space name.bin", "z"];
  for (let i = 0; i < 40; i++) {
    const dir = ["", "docs/", "docs/deep/er/", "Ünïcödé/", "photos/2026/"][i % 5];
    const size = 100 + Math.floor(rnd() * 4000);
    files.set(`${dir}${i}-${names[i % names.length]}`, fill(size, rnd));
  }
  for (let i = 0; i < 3; i++) files.set(`big/${i}.bin`, fill((2 + i) << 20, rnd));
  files.set("big/multipart.bin", fill(9 << 20, rnd)); // above S3's single-PUT size
  return files;
}

function fill(size: number, rnd: () => number): Uint8Array {
  const b = new Uint8Array(size);
  const seed = Math.floor(rnd() * 255);
  for (let i = 0; i < size; i += 4096) b[i] = (seed + i / 4096) & 255;
  return b;
}

/**
 * Run ferry with `--json`; with `killAt`, SIGKILL it after that many of its file events plus
 * `delayMs` (so kills land at random instants while files are being written).
 */
async function run(
  args: string[],
  killAt?: { events: number; delayMs: number },
): Promise<{ code: number; err: string; out: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ferryArgs([...args, "--json"]),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* ended by itself just now */ }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => timer ??= setTimeout(kill, killAt!.delayMs);
  if (killAt && killAt.events === 0) arm();
  let events = 0;
  let out = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      out += chunk;
      events += (chunk.match(/"event":"(copy|update|move|delete)"/g) ?? []).length;
      if (killAt && events >= killAt.events) arm();
    }
  })();
  const err = new Response(child.stderr).text();
  const status = await child.status;
  clearTimeout(timer);
  await reading.catch(() => {});
  return { code: status.code, err: await err, out };
}

/**
 * One direction: a first copy killed at random instants, the source changed after each kill,
 * then a run to the end.
 */
async function crashTrial(
  name: string,
  src: Side,
  dst: Side,
  extra: string[],
  state: string,
): Promise<void> {
  const seed = Number(Deno.env.get("FERRY_CRASH_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`crash suite ${name}: seed ${seed}, ${KILLS} kills`);
  const rnd = random(seed);
  /** Every version each path has had in the source. */
  const versions = new Map<string, Set<string>>();
  const put = async (rel: string, data: Uint8Array) => {
    await src.write(rel, data);
    if (!versions.has(rel)) versions.set(rel, new Set());
    versions.get(rel)!.add(hash(data));
  };
  for (const [rel, data] of corpus(rnd)) await put(rel, data);
  const args = ["sync", src.arg, dst.arg, "--delete", "--force", "--state", state, ...extra];
  let found = 0;
  let killed = 0;
  let midway = 0;
  /** The longest delay after the chosen event; it adapts to how fast runs end here. */
  let maxDelay = 40;
  serverTorn = 0;
  // Runs go on until KILLS of them were killed before they ended (at most 3 × KILLS runs).
  for (let k = 0; killed < KILLS && k < KILLS * 3; k++) {
    // A random instant: after 0 to 7 file events, then a random delay.
    const killAt = { events: Math.floor(rnd() * 8), delayMs: Math.floor(rnd() * maxDelay) };
    const before = await dst.snapshot();
    const r = await run(args, killAt);
    maxDelay = r.code === 0 ? Math.max(2, maxDelay / 2) : Math.min(400, maxDelay * 1.5);
    if (r.code !== 0) {
      killed++;
      const after = await dst.snapshot();
      if (after.size !== before.size || [...after].some(([k, h]) => before.get(k) !== h)) midway++;
    }
    // Every file at a real name is some version its source had at that path.
    for (const [rel, h] of await dst.snapshot()) {
      if (!versions.get(rel)?.has(h)) {
        found++;
        assert.fail(
          `${name} seed ${seed} kill ${k}: "${rel}" holds content its source never had ` +
            `(${await dst.describe(rel)})`,
        );
      }
    }
    // Change the source before the next run, so that it has work to be killed in: edits (one
    // of several MB now and then), new files, a deletion.
    const keys = [...versions.keys()];
    for (let e = 0; e < 6; e++) {
      const pick = keys[Math.floor(rnd() * keys.length)]!;
      await put(pick, fill(e === 0 && k % 3 === 0 ? 3 << 20 : 100 + Math.floor(rnd() * 3000), rnd));
    }
    for (let e = 0; e < 4; e++) await put(`new/${k}/${e}.txt`, fill(500, rnd));
    const gone = keys[Math.floor(rnd() * keys.length)]!;
    if ((await src.snapshot()).has(gone)) await src.remove(gone);
  }
  console.log(
    `crash suite ${name}: ${killed} runs killed, ${midway} of them mid-sync` +
      (serverTorn ? `; ${serverTorn} looks at objects s3rver itself had left torn` : ""),
  );
  assert.ok(killed >= KILLS, `${name}: only ${killed} kills landed before the run ended`);
  assert.ok(midway >= 1, `${name}: no kill landed while files were being written`);
  // What real S3 never shows (a PUT whose body a killed client cut short, or two PUTs of one
  // key that s3rver wrote into one file at once, a killed run's still arriving) is taken away:
  // with real S3 the key would hold a whole version or nothing, and the last run must bring it
  // to the source's either way. Torn by ferry it cannot be: ferry's bytes carry their own ETag.
  const tidied = await dst.tidy?.() ?? [];
  if (tidied.length) console.log(`crash suite ${name}: removed torn by s3rver: ${tidied}`);
  const last = await run(args);
  assert.equal(last.code, 0, `${name} seed ${seed}: ${last.err}`);
  assert.deepEqual(
    await dst.snapshot(),
    await src.snapshot(),
    `${name} seed ${seed}: trees differ`,
  );
  assert.deepEqual(dst.temps(), [], `${name} seed ${seed}: temporary files left`);
  assert.equal(found, 0);
}

/** A conflict copy's original path (`a/n.conflict-20260101-000000-x.txt` → `a/n.txt`). */
function originOf(rel: string): string {
  const once = (r: string) =>
    r.replace(/\.conflict-\d{8}-\d{6}-[^/.]*?(?:-\d+)?(\.[^/.]+)?$/, (_, ext) => ext ?? "");
  for (let r = rel, i = 0; i < 10; i++) {
    const next = once(r);
    if (next === r) return r;
    r = next;
  }
  return rel;
}

/**
 * A mirror of several sides killed at random instants, each side edited between kills (edits
 * on several sides of one file make conflicts; deletions too). After every kill each file at
 * a real name holds a version the test wrote at its path (or, in a conflict copy, at the path
 * it was copied from), and no version written since it was last agreed has vanished from
 * every side; the last run converges with every side the same and no temporary file left.
 */
async function mirrorCrashTrial(name: string, sides: Side[], extra: string[], state: string) {
  const seed = Number(Deno.env.get("FERRY_CRASH_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`crash suite ${name}: seed ${seed}, ${KILLS} kills`);
  const rnd = random(seed);
  const versions = new Map<string, Set<string>>();
  /** Versions written since last seen agreed (at one path on every side): never to vanish. */
  const pending = new Map<string, string>();
  const held = sides.map(() => new Map<string, string>());
  const put = async (i: number, rel: string, data: Uint8Array) => {
    const h = hash(data);
    // The user overwrote a version on this side: that one may go.
    const old = held[i]!.get(rel);
    if (old) pending.delete(old);
    await sides[i]!.write(rel, data);
    held[i]!.set(rel, h);
    if (!versions.has(rel)) versions.set(rel, new Set());
    versions.get(rel)!.add(h);
    pending.set(h, rel);
  };
  const files = [...corpus(rnd)];
  for (const [n, [rel, data]] of files.entries()) await put(n % sides.length, rel, data);
  const args = ["mirror", ...sides.map((s) => s.arg), "--force", "--state", state, ...extra];
  let killed = 0;
  let midway = 0;
  let maxDelay = 40;
  for (let k = 0; killed < KILLS && k < KILLS * 3; k++) {
    const killAt = { events: Math.floor(rnd() * 8), delayMs: Math.floor(rnd() * maxDelay) };
    const before = await Promise.all(sides.map((s) => s.snapshot()));
    if (Deno.env.get("FERRY_CRASH_DEBUG")) {
      for (const f of ["", "-wal", "-shm"]) {
        await Deno.copyFile(state + f, `${state}.k${k}${f}`).catch(() => {});
      }
    }
    const r = await run(args, killAt);
    maxDelay = r.code === 0 ? Math.max(2, maxDelay / 2) : Math.min(400, maxDelay * 1.5);
    assert.ok(r.code === 0 || r.code === 137 || r.code === 9, `${name} seed ${seed}: ${r.err}`);
    const after = await Promise.all(sides.map((s) => s.snapshot()));
    if (r.code !== 0) {
      killed++;
      const same = (x: Map<string, string>, y: Map<string, string>) =>
        x.size === y.size && [...x].every(([k, h]) => y.get(k) === h);
      if (after.some((a, i) => !same(a, before[i]!))) midway++;
    }
    const everywhere = new Set<string>();
    for (const [i, snap] of after.entries()) {
      held[i] = new Map(snap);
      for (const [rel, h] of snap) {
        everywhere.add(h);
        assert.ok(
          versions.get(originOf(rel))?.has(h),
          `${name} seed ${seed} kill ${k}: "${rel}" on side ${i} holds a version never written there (${await sides[
            i
          ]!.describe(rel)})`,
        );
      }
    }
    for (const [h, rel] of pending) {
      if (!everywhere.has(h) && Deno.env.get("FERRY_CRASH_DEBUG")) {
        console.log(
          `lost ${h.slice(0, 8)} of ${rel}; written ${
            [...(versions.get(rel) ?? [])].map((x) => x.slice(0, 8)).join(",")
          }; sides now ${after.map((a) => a.get(rel)?.slice(0, 8)).join(" | ")}; before ${
            before.map((a) => a.get(rel)?.slice(0, 8)).join(" | ")
          }\n${r.out.split("\n").filter((l) => l.includes(rel.split("/").pop()!)).join("\n")}`,
        );
      }
      assert.ok(everywhere.has(h), `${name} seed ${seed} kill ${k}: a version of "${rel}" is lost`);
      if (after.every((snap) => snap.get(rel) === h)) pending.delete(h); // agreed
    }
    // Edit between runs: each side changes two files, adds one, and now and then deletes one.
    for (const [i, side] of sides.entries()) {
      const keys = [...held[i]!.keys()].filter((r) => !r.includes(".conflict-"));
      for (let e = 0; e < 2 && keys.length > 0; e++) {
        const pick = keys[Math.floor(rnd() * keys.length)]!;
        const big = e === 0 && k % 4 === i;
        await put(i, pick, fill(big ? 2 << 20 : 100 + Math.floor(rnd() * 3000), rnd));
      }
      await put(i, `new/${k}/${i}.txt`, fill(300 + i, rnd));
      if (rnd() < 0.3 && keys.length > 0) {
        const gone = keys[Math.floor(rnd() * keys.length)]!;
        const h = held[i]!.get(gone);
        if (h) pending.delete(h);
        await side.remove(gone);
        held[i]!.delete(gone);
      }
    }
  }
  console.log(`crash suite ${name}: ${killed} runs killed, ${midway} of them mid-pass`);
  assert.ok(killed >= KILLS, `${name}: only ${killed} kills landed before the run ended`);
  assert.ok(midway >= 1, `${name}: no kill landed while files were being written`);
  const last = await run([...args, ...(Deno.env.get("FERRY_CRASH_DEBUG") ? ["-vv"] : [])]);
  if (Deno.env.get("FERRY_CRASH_DEBUG")) console.log(last.err, last.out);
  assert.equal(last.code, 0, `${name} seed ${seed}: ${last.err}`);
  const snaps = await Promise.all(sides.map((s) => s.snapshot()));
  for (const [i, s] of snaps.entries()) {
    const diff = [...new Set([...s.keys(), ...snaps[0]!.keys()])]
      .filter((k) => s.get(k) !== snaps[0]!.get(k));
    assert.deepEqual(
      diff.map((k) =>
        `${k}: ${s.get(k)?.slice(0, 8)} vs ${snaps[0]!.get(k)?.slice(0, 8)} (written: ${
          [...(versions.get(k) ?? [])].map((h) => h.slice(0, 8)).join(", ")
        })`
      ),
      [],
      `${name} seed ${seed}: side ${i} differs from side 0`,
    );
  }
  const all = new Set(snaps[0]!.values());
  for (const [h, rel] of pending) assert.ok(all.has(h), `${name} seed ${seed}: "${rel}" lost`);
  for (const s of sides) {
    assert.deepEqual(s.temps(), [], `${name} seed ${seed}: temporary files in ${s.arg}`);
  }
  const again = await run(args);
  assert.equal(again.code, 0);
  for (const [i, s] of sides.entries()) assert.deepEqual(await s.snapshot(), snaps[i]);
}

Deno.test("crash suite: mirror of three folders, edited on every side, killed at random instants, nothing lost, converges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-crash-" });
  try {
    await mirrorCrashTrial(
      "mirror local+local+local",
      ["a", "b", "c"].map((n) => localSide(join(dir, n))),
      [],
      join(dir, "state.db"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crash suite: mirror of a folder, a ZIP archive and an FTP server, edited on every side, killed at random instants, nothing lost, converges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-crash-" });
  try {
    await mirrorCrashTrial(
      "mirror local+zip+ftp",
      [localSide(join(dir, "a")), zipSide(join(dir, "b.zip")), ftpSide(ftp, "/mirror")],
      [],
      join(dir, "state.db"),
    );
  } finally {
    if (Deno.env.get("FERRY_CRASH_DEBUG")) console.log(`kept ${dir}; FTP root ${ftp.root}`);
    else await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crash suite: local -> local, killed at random instants, never a wrong file, converges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-crash-" });
  try {
    await crashTrial(
      "local->local",
      localSide(join(dir, "src")),
      localSide(join(dir, "dst")),
      [],
      join(dir, "state.db"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "crash suite: local -> ZIP, killed at random instants, the archive always opens whole, converges",
  ignore: skipUnless(have("unzip"), import.meta.url, "unzip is not installed"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-crash-" });
    try {
      await crashTrial(
        "local->zip",
        localSide(join(dir, "src")),
        zipSide(join(dir, "backup.zip")),
        [],
        join(dir, "state.db"),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const server = await startS3rver(["crash"]);

Deno.test("crash suite: local -> S3, killed at random instants, never a wrong object, converges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-crash-" });
  const s3 = s3Side(server.endpoint, "up");
  try {
    await crashTrial(
      "local->s3",
      localSide(join(dir, "src")),
      s3,
      ["--endpoint", server.endpoint, "--path-style"],
      join(dir, "state.db"),
    );
  } finally {
    await s3.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crash suite: S3 -> local, killed at random instants, never a wrong file, converges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-crash-" });
  const s3 = s3Side(server.endpoint, "down");
  try {
    await crashTrial(
      "s3->local",
      s3,
      localSide(join(dir, "dst")),
      ["--endpoint", server.endpoint, "--path-style"],
      join(dir, "state.db"),
    );
  } finally {
    await s3.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "crash suite: stop the S3 test server",
  fn: () => server.stop(),
  sanitizeOps: false,
  sanitizeResources: false,
});

// pure-ftpd where it is installed (CI), else ftp-srv.
const ftp = daemonAvailable("pure-ftpd") ? await startPureFtpd() : await startFtpSrv();

Deno.test("crash suite: local -> FTP, killed at random instants, never a wrong file, no temporary file left, converges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-crash-" });
  try {
    await crashTrial(
      "local->ftp",
      localSide(join(dir, "src")),
      ftpSide(ftp, "/up"),
      [],
      join(dir, "state.db"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crash suite: FTP -> local, killed at random instants, never a wrong file, converges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-crash-" });
  try {
    await crashTrial(
      "ftp->local",
      ftpSide(ftp, "/down"),
      localSide(join(dir, "dst")),
      [],
      join(dir, "state.db"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "crash suite: stop the FTP test server",
  fn: () => ftp.stop(),
  sanitizeOps: false,
  sanitizeResources: false,
});
